package io.tune4j.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where malformed records go: thrown at once by default, or counted per reason (and the first
 * few messages kept for the report) when bad records are to be skipped.
 */
public final class BadRecords {
    public static final String INVALID_UTF8 = "invalid UTF-8";
    public static final String MALFORMED = "malformed record";
    public static final String MISSING_FIELD = "missing field";
    public static final String WRONG_TYPE = "wrong type";

    private static final int KEPT_MESSAGES = 20;

    private final boolean skip;
    private final Map<String, Integer> counts = new TreeMap<>();
    private final List<String> examples = new ArrayList<>();

    public BadRecords(boolean skip) {
        this.skip = skip;
    }

    public boolean skipping() {
        return skip;
    }

    /** Throws e unless skipping; otherwise counts it under reason. */
    public void reject(String reason, DataFormatException e) {
        if (!skip) throw e;
        counts.merge(reason, 1, Integer::sum);
        if (examples.size() < KEPT_MESSAGES) examples.add(e.getMessage());
    }

    public int count(String reason) {
        return counts.getOrDefault(reason, 0);
    }

    public int total() {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    public Map<String, Integer> counts() {
        return Collections.unmodifiableMap(counts);
    }

    public List<String> firstMessages() {
        return Collections.unmodifiableList(examples);
    }
}
