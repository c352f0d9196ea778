package io.tune4j.data;

/**
 * A [batchSize, seqLen] training batch, flattened row-major, ready for
 * {@code TrainingContext.setBatch}: targets are already shifted (targets[t] is the token that
 * should follow position t, -100 where no loss: prompts, padding, the last token of an example),
 * positions restart at 0 for every example, and kvStart (null unless packed) holds each token's
 * first visible key so packed examples never attend to each other.
 */
public record Batch(int batchSize, int seqLen, int[] ids, int[] targets, int[] positions, int[] kvStart) {
    public Batch {
        int n = batchSize * seqLen;
        if (ids.length != n || targets.length != n || positions.length != n || (kvStart != null && kvStart.length != n)) {
            throw new IllegalArgumentException("batch arrays must hold batchSize*seqLen = " + n + " entries");
        }
    }

    /** Tokens that carry a loss. */
    public int targetCount() {
        int c = 0;
        for (int t : targets) if (t != TokenizedExample.IGNORE) c++;
        return c;
    }
}
