package io.tune4j.data;

/**
 * Several examples laid end to end in one row of at most seqLen tokens; starts[i] is where
 * example i begins. Labels are unshifted, as in {@link TokenizedExample}.
 */
public record PackedRow(int[] ids, int[] labels, int[] starts) {
    public int length() {
        return ids.length;
    }

    public static PackedRow of(TokenizedExample x) {
        return new PackedRow(x.ids(), x.labels(), new int[] {0});
    }
}
