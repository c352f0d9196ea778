package io.tune4j.data;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Batches of rows (one example, or several packed) in an order shuffled per epoch by a
 * generator seeded from (seed, epoch), so that batch(epoch, index) is the same on every call and
 * after a restart. A last partial batch is filled with all-padding rows (no targets).
 */
abstract class RowBatchSource implements BatchSource {
    private final List<PackedRow> rows;
    private final int batchSize;
    private final int seqLen;
    private final long seed;
    private final int padId;
    private final boolean packed;

    private int cachedEpoch = -1;
    private int[] cachedOrder;

    RowBatchSource(List<PackedRow> rows, int batchSize, int seqLen, long seed, int padId, boolean packed) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (seqLen < 2) throw new IllegalArgumentException("sequence length must be >= 2, got " + seqLen);
        for (int i = 0; i < rows.size(); i++) {
            if (rows.get(i).length() > seqLen) {
                throw new IllegalArgumentException("row " + i + " has " + rows.get(i).length() + " tokens, more than the "
                        + "sequence length " + seqLen);
            }
        }
        this.rows = List.copyOf(rows);
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        this.seed = seed;
        this.padId = padId;
        this.packed = packed;
    }

    @Override
    public int batchSize() {
        return batchSize;
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    public int rowCount() {
        return rows.size();
    }

    @Override
    public int batchesPerEpoch() {
        return (rows.size() + batchSize - 1) / batchSize;
    }

    /** The row order of an epoch: a Fisher-Yates shuffle driven by Random(seed, epoch). */
    public synchronized int[] order(int epoch) {
        if (epoch != cachedEpoch) {
            int[] o = new int[rows.size()];
            for (int i = 0; i < o.length; i++) o[i] = i;
            Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + epoch);
            for (int i = o.length - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = o[i];
                o[i] = o[j];
                o[j] = t;
            }
            cachedOrder = o;
            cachedEpoch = epoch;
        }
        return cachedOrder;
    }

    @Override
    public Batch batch(int epoch, int index) {
        if (epoch < 0) throw new IndexOutOfBoundsException("epoch " + epoch + " < 0");
        if (index < 0 || index >= batchesPerEpoch()) {
            throw new IndexOutOfBoundsException("batch " + index + " outside [0, " + batchesPerEpoch() + ")");
        }
        int[] order = order(epoch);
        int n = batchSize * seqLen;
        int[] ids = new int[n], targets = new int[n], positions = new int[n];
        int[] kvStart = packed ? new int[n] : null;
        Arrays.fill(ids, padId);
        Arrays.fill(targets, TokenizedExample.IGNORE);
        for (int b = 0; b < batchSize; b++) {
            int k = index * batchSize + b;
            int off = b * seqLen;
            int filled = 0;
            if (k < order.length) {
                PackedRow row = rows.get(order[k]);
                int[] starts = row.starts();
                for (int s = 0; s < starts.length; s++) {
                    int from = starts[s], to = s + 1 < starts.length ? starts[s + 1] : row.length();
                    for (int t = from; t < to; t++) {
                        ids[off + t] = row.ids()[t];
                        // shifted within the example: its last token predicts nothing
                        targets[off + t] = t + 1 < to ? row.labels()[t + 1] : TokenizedExample.IGNORE;
                        positions[off + t] = t - from;
                        if (kvStart != null) kvStart[off + t] = from;
                    }
                }
                filled = row.length();
            }
            // padding restarts positions at 0; when packed it is its own segment, attending only to padding
            for (int t = filled; t < seqLen; t++) {
                positions[off + t] = t - filled;
                if (kvStart != null) kvStart[off + t] = filled;
            }
        }
        return new Batch(batchSize, seqLen, ids, targets, positions, kvStart);
    }
}
