package io.tune4j.eval;

import io.tune4j.data.Batch;
import io.tune4j.data.BatchSource;
import io.tune4j.data.TokenizedExample;
import java.util.Arrays;

/** Test batches: a token stream cut into rows of seqLen, every next token a target. */
final class TokenRowsBatchSource implements BatchSource {
    private final int[] tokens;
    private final int batchSize;
    private final int seqLen;

    TokenRowsBatchSource(int[] tokens, int batchSize, int seqLen) {
        this.tokens = tokens;
        this.batchSize = batchSize;
        this.seqLen = seqLen;
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
        int rows = (tokens.length - 1) / seqLen;
        return rows / batchSize;
    }

    @Override
    public Batch batch(int epoch, int index) {
        int M = batchSize * seqLen;
        int[] ids = new int[M], targets = new int[M], pos = new int[M];
        Arrays.fill(targets, TokenizedExample.IGNORE);
        for (int i = 0; i < M; i++) {
            int at = index * M + i;
            ids[i] = tokens[at];
            targets[i] = tokens[at + 1];
            pos[i] = i % seqLen;
        }
        return new Batch(batchSize, seqLen, ids, targets, pos, null);
    }
}
