package io.tune4j.data;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Batches of preference pairs, each pair in two adjacent rows (2k chosen, 2k+1 rejected) padded to seqLen, in
 * a pair order shuffled per (seed, epoch). A last partial batch is filled with empty rows (no targets).
 */
public final class PreferenceBatchSource implements BatchSource {
    private final List<TokenizedPair> pairs;
    private final int batchSize;
    private final int seqLen;
    private final long seed;
    private final int padId;

    /** batchSize counts rows: twice the pairs per batch. */
    public PreferenceBatchSource(List<TokenizedPair> pairs, int batchSize, int seqLen, long seed, int padId) {
        if (batchSize < 2 || batchSize % 2 != 0) {
            throw new IllegalArgumentException("a preference batch holds (chosen, rejected) row pairs: the batch size must "
                    + "be even and >= 2, got " + batchSize);
        }
        for (int i = 0; i < pairs.size(); i++) {
            TokenizedPair p = pairs.get(i);
            if (p.chosen().length() > seqLen || p.rejected().length() > seqLen) {
                throw new IllegalArgumentException("pair " + i + " is longer than the sequence length " + seqLen);
            }
        }
        this.pairs = List.copyOf(pairs);
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        this.seed = seed;
        this.padId = padId;
    }

    @Override
    public int batchSize() {
        return batchSize;
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    public int pairCount() {
        return pairs.size();
    }

    @Override
    public int batchesPerEpoch() {
        int per = batchSize / 2;
        return (pairs.size() + per - 1) / per;
    }

    private int[] order(int epoch) {
        int[] o = new int[pairs.size()];
        for (int i = 0; i < o.length; i++) o[i] = i;
        Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + epoch);
        for (int i = o.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = o[i];
            o[i] = o[j];
            o[j] = t;
        }
        return o;
    }

    @Override
    public Batch batch(int epoch, int index) {
        if (index < 0 || index >= batchesPerEpoch()) {
            throw new IndexOutOfBoundsException("batch " + index + " outside [0, " + batchesPerEpoch() + ")");
        }
        int[] order = order(epoch);
        int n = batchSize * seqLen;
        int[] ids = new int[n], targets = new int[n], positions = new int[n];
        Arrays.fill(ids, padId);
        Arrays.fill(targets, TokenizedExample.IGNORE);
        for (int row = 0; row < batchSize; row++) {
            int k = index * (batchSize / 2) + row / 2;
            int off = row * seqLen, filled = 0;
            if (k < order.length) {
                TokenizedPair p = pairs.get(order[k]);
                TokenizedExample x = row % 2 == 0 ? p.chosen() : p.rejected();
                filled = x.length();
                for (int t = 0; t < filled; t++) {
                    ids[off + t] = x.ids()[t];
                    targets[off + t] = t + 1 < filled ? x.labels()[t + 1] : TokenizedExample.IGNORE;
                }
            }
            for (int t = 0; t < seqLen; t++) positions[off + t] = t < filled ? t : t - filled;
        }
        return new Batch(batchSize, seqLen, ids, targets, positions, null);
    }
}
