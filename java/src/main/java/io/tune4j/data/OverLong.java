package io.tune4j.data;

import java.util.Locale;

/** What happens to an example longer than the sequence length. */
public enum OverLong {
    /** Keep its first seqLen tokens. */
    TRUNCATE,
    /** Leave it out. */
    DROP,
    /** Cut it into consecutive seqLen-token pieces (the default for whole-file text). */
    SPLIT;

    public static OverLong parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "truncate" -> TRUNCATE;
            case "drop" -> DROP;
            case "split" -> SPLIT;
            default -> throw new IllegalArgumentException("unknown over-long policy '" + s + "'; expected truncate, drop or split");
        };
    }
}
