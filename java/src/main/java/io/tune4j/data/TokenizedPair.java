package io.tune4j.data;

/** A preference pair after templating, tokenisation and truncation; labels mark the response tokens only. */
public record TokenizedPair(TokenizedExample chosen, TokenizedExample rejected) {}
