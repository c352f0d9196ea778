package io.tune4j.eval;

import io.tune4j.data.Batch;
import io.tune4j.data.BatchSource;
import io.tune4j.data.TokenizedExample;
import io.tune4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Loss batches over evaluation examples, in order: the loss covers each reference given its
 * prompt (the whole text when the prompt is empty); no EOS is appended. An example longer than
 * seqLen is split into consecutive windows, each window's last position predicting the next
 * window's first token; windows are packed into rows (positions restart, kvStart keeps them
 * apart) so short examples waste no compute on padding. Stands in until the data package
 * provides the training-side batching.
 */
public final class ExampleBatchSource implements BatchSource {
    private final int batchSize;
    private final int seqLen;
    private final List<int[]> rowIds = new ArrayList<>();
    private final List<int[]> rowTargets = new ArrayList<>();
    private final List<int[]> rowPositions = new ArrayList<>();
    private final List<int[]> rowKvStart = new ArrayList<>();

    private ExampleBatchSource(int batchSize, int seqLen) {
        this.batchSize = batchSize;
        this.seqLen = seqLen;
    }

    /** Packing room: longer rows pack better but pay more attention over their own padding-free length. */
    private static final int MIN_ROW = 256;

    /**
     * Rows of at least the longest example (and at least min(batchTokens, 256) so that short ones
     * pack), at most maxSeqLen tokens; about batchTokens tokens per batch.
     */
    public static ExampleBatchSource of(List<EvalExample> examples, Tokenizer tokenizer, int maxSeqLen, int batchTokens) {
        List<TokenizedExample> tokenized = new ArrayList<>();
        int longest = 2;
        for (EvalExample e : examples) {
            TokenizedExample t = tokenize(e, tokenizer);
            tokenized.add(t);
            longest = Math.max(longest, t.length());
        }
        int T = Math.min(maxSeqLen, Math.max(longest, Math.min(batchTokens, MIN_ROW)));
        ExampleBatchSource s = new ExampleBatchSource(0, T);
        List<int[][]> windows = new ArrayList<>();
        for (TokenizedExample t : tokenized) s.addWindows(t, windows);
        s.pack(windows);
        int B = Math.max(1, Math.min(Math.max(1, s.rowIds.size()), batchTokens / T));
        ExampleBatchSource out = new ExampleBatchSource(B, T);
        out.rowIds.addAll(s.rowIds);
        out.rowTargets.addAll(s.rowTargets);
        out.rowPositions.addAll(s.rowPositions);
        out.rowKvStart.addAll(s.rowKvStart);
        return out;
    }

    /** Labels on the reference only: tokens after the longest common prefix with the prompt's tokens. */
    static TokenizedExample tokenize(EvalExample e, Tokenizer tokenizer) {
        int[] p = tokenizer.encode(e.prompt(), true);
        int[] full = tokenizer.encode(e.prompt() + e.reference(), true);
        int common = 0;
        while (common < p.length && common < full.length && p[common] == full[common]) common++;
        int[] labels = full.clone();
        Arrays.fill(labels, 0, common, TokenizedExample.IGNORE);
        return new TokenizedExample(full, labels);
    }

    /** Cuts an example into windows of at most seqLen tokens; windows without a target are dropped. */
    private void addWindows(TokenizedExample t, List<int[][]> windows) {
        int[] ids = t.ids(), labels = t.labels();
        for (int s = 0; s + 1 < ids.length; s += seqLen) {
            int len = Math.min(seqLen, ids.length - s);
            int[] wid = Arrays.copyOfRange(ids, s, s + len), wtg = new int[len];
            boolean any = false;
            for (int j = 0; j < len; j++) {
                wtg[j] = s + j + 1 < ids.length ? labels[s + j + 1] : TokenizedExample.IGNORE;
                any |= wtg[j] != TokenizedExample.IGNORE;
            }
            if (any) windows.add(new int[][] {wid, wtg});
        }
    }

    /** Windows packed first-fit in order into rows; each keeps its own positions and sees only itself. */
    private void pack(List<int[][]> windows) {
        int[] ids = null, tg = null, pos = null, kv = null;
        int fill = seqLen;
        for (int[][] w : windows) {
            int len = w[0].length;
            if (fill + len > seqLen) {
                if (ids != null) addRow(ids, tg, pos, kv, fill);
                ids = new int[seqLen];
                tg = new int[seqLen];
                pos = new int[seqLen];
                kv = new int[seqLen];
                fill = 0;
            }
            System.arraycopy(w[0], 0, ids, fill, len);
            System.arraycopy(w[1], 0, tg, fill, len);
            for (int j = 0; j < len; j++) {
                pos[fill + j] = j;
                kv[fill + j] = fill;
            }
            fill += len;
        }
        if (ids != null) addRow(ids, tg, pos, kv, fill);
    }

    private void addRow(int[] ids, int[] tg, int[] pos, int[] kv, int fill) {
        Arrays.fill(tg, fill, seqLen, TokenizedExample.IGNORE);
        for (int j = fill; j < seqLen; j++) kv[j] = fill; // padding: after everything, seen by nothing
        rowIds.add(ids);
        rowTargets.add(tg);
        rowPositions.add(pos);
        rowKvStart.add(kv);
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
        return (rowIds.size() + batchSize - 1) / batchSize;
    }

    /** Rows in example order whatever the epoch: evaluation has nothing to shuffle. */
    @Override
    public Batch batch(int epoch, int index) {
        if (index < 0 || index >= batchesPerEpoch()) {
            throw new IndexOutOfBoundsException("batch " + index + " of " + batchesPerEpoch());
        }
        int M = batchSize * seqLen;
        int[] ids = new int[M], targets = new int[M], positions = new int[M], kvStart = new int[M];
        Arrays.fill(targets, TokenizedExample.IGNORE);
        for (int r = 0; r < batchSize; r++) {
            int row = index * batchSize + r;
            if (row >= rowIds.size()) {
                for (int t = 0; t < seqLen; t++) positions[r * seqLen + t] = t;
                continue;
            }
            System.arraycopy(rowIds.get(row), 0, ids, r * seqLen, seqLen);
            System.arraycopy(rowTargets.get(row), 0, targets, r * seqLen, seqLen);
            System.arraycopy(rowPositions.get(row), 0, positions, r * seqLen, seqLen);
            System.arraycopy(rowKvStart.get(row), 0, kvStart, r * seqLen, seqLen);
        }
        return new Batch(batchSize, seqLen, ids, targets, positions, kvStart);
    }

    /** Rows that carry a loss. */
    public int rows() {
        return rowIds.size();
    }
}
