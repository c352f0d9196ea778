package io.tune4j.train;

import io.tune4j.data.Batch;
import io.tune4j.data.BatchSource;
import io.tune4j.data.TokenizedExample;
import java.util.Random;

/**
 * Test data: a token stream cut into windows of seqLen+1 tokens, shuffled per (seed, epoch) at
 * window level and grouped into batches in that order, so that batch sizes 4 and 2×2 see the
 * same rows in the same order.
 */
final class InMemoryBatchSource implements BatchSource {
    private final int[] tokens;
    private final int batchSize;
    private final int seqLen;
    private final long seed;
    private final int windows;

    InMemoryBatchSource(int[] tokens, int batchSize, int seqLen, long seed) {
        this.tokens = tokens;
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        this.seed = seed;
        this.windows = (tokens.length - 1) / seqLen;
    }

    static InMemoryBatchSource random(int vocab, int length, int batchSize, int seqLen, long seed) {
        Random r = new Random(seed);
        int[] t = new int[length];
        for (int i = 0; i < length; i++) t[i] = r.nextInt(vocab);
        return new InMemoryBatchSource(t, batchSize, seqLen, seed);
    }

    @Override
    public int batchSize() {
        return batchSize;
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    @Override
    public int batchesPerEpoch() {
        return windows / batchSize;
    }

    private int[] order(int epoch) {
        int[] o = new int[windows];
        for (int i = 0; i < windows; i++) o[i] = i;
        Random r = new Random(seed * 1_000_003L + epoch);
        for (int i = windows - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = o[i];
            o[i] = o[j];
            o[j] = t;
        }
        return o;
    }

    @Override
    public Batch batch(int epoch, int index) {
        if (index < 0 || index >= batchesPerEpoch()) throw new IndexOutOfBoundsException("batch " + index);
        int[] o = order(epoch);
        int n = batchSize * seqLen;
        int[] ids = new int[n], targets = new int[n], positions = new int[n];
        for (int b = 0; b < batchSize; b++) {
            int start = o[index * batchSize + b] * seqLen;
            for (int t = 0; t < seqLen; t++) {
                ids[b * seqLen + t] = tokens[start + t];
                targets[b * seqLen + t] = tokens[start + t + 1];
                positions[b * seqLen + t] = t;
            }
            // a few ignored targets so that the token-weighted mean matters
            if (b % 2 == 1) targets[b * seqLen] = TokenizedExample.IGNORE;
        }
        return new Batch(batchSize, seqLen, ids, targets, positions, null);
    }
}
