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
 * window's first token. Stands in until the data package provides the training-side batching.
 */
public final class ExampleBatchSource implements BatchSource {
    private final int batchSize;
    private final int seqLen;
    private final List<int[]> rowIds = new ArrayList<>();
    private final List<int[]> rowTargets = new ArrayList<>();

    private ExampleBatchSource(int batchSize, int seqLen) {
        this.batchSize = batchSize;
        this.seqLen = seqLen;
    }

    /** Rows of min(maxSeqLen, longest example) tokens, about batchTokens tokens per batch. */
    public static ExampleBatchSource of(List<EvalExample> examples, Tokenizer tokenizer, int maxSeqLen, int batchTokens) {
        List<TokenizedExample> tokenized = new ArrayList<>();
        int longest = 2;
        for (EvalExample e : examples) {
            TokenizedExample t = tokenize(e, tokenizer);
            tokenized.add(t);
            longest = Math.max(longest, t.length());
        }
        int T = Math.min(maxSeqLen, longest);
        ExampleBatchSource s = new ExampleBatchSource(0, T);
        for (TokenizedExample t : tokenized) s.addWindows(t);
        int B = Math.max(1, Math.min(Math.max(1, s.rowIds.size()), batchTokens / T));
        ExampleBatchSource out = new ExampleBatchSource(B, T);
        out.rowIds.addAll(s.rowIds);
        out.rowTargets.addAll(s.rowTargets);
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

    private void addWindows(TokenizedExample t) {
        int[] ids = t.ids(), labels = t.labels();
        for (int s = 0; s + 1 < ids.length; s += seqLen) {
            int[] rid = new int[seqLen], rtg = new int[seqLen];
            Arrays.fill(rtg, TokenizedExample.IGNORE);
            boolean any = false;
            for (int j = 0; j < seqLen && s + j < ids.length; j++) {
                rid[j] = ids[s + j];
                if (s + j + 1 < ids.length) {
                    rtg[j] = labels[s + j + 1];
                    any |= rtg[j] != TokenizedExample.IGNORE;
                }
            }
            if (any) {
                rowIds.add(rid);
                rowTargets.add(rtg);
            }
        }
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
        int[] ids = new int[M], targets = new int[M], positions = new int[M];
        Arrays.fill(targets, TokenizedExample.IGNORE);
        for (int r = 0; r < batchSize; r++) {
            for (int t = 0; t < seqLen; t++) positions[r * seqLen + t] = t;
            int row = index * batchSize + r;
            if (row >= rowIds.size()) continue;
            System.arraycopy(rowIds.get(row), 0, ids, r * seqLen, seqLen);
            System.arraycopy(rowTargets.get(row), 0, targets, r * seqLen, seqLen);
        }
        return new Batch(batchSize, seqLen, ids, targets, positions, null);
    }

    /** Rows that carry a loss. */
    public int rows() {
        return rowIds.size();
    }
}
