package io.tune4j.data;

/**
 * One example after tokenisation: ids and, per id, the label the loss trains on (Hugging Face
 * convention: labels[i] = ids[i] where the token counts, -100 where it does not, e.g. prompt
 * tokens in instruction tuning). Labels are not shifted; batching shifts them.
 */
public record TokenizedExample(int[] ids, int[] labels) {
    public static final int IGNORE = -100;

    public TokenizedExample {
        if (ids.length != labels.length) {
            throw new IllegalArgumentException("ids and labels differ in length: " + ids.length + " vs " + labels.length);
        }
    }

    public int length() {
        return ids.length;
    }
}
