package io.tune4j.data;

/**
 * A preference record after field mapping: the same conversation ending once in the chosen and once in the
 * rejected response. Both examples share everything before the final response, so templating lays out the
 * same prompt for each.
 */
public record PreferencePair(String origin, Example chosen, Example rejected) {}
