package io.tune4j.data;

import java.util.List;

/** The batches a run trains or validates on, built one way for finetune, eval and the jobs API. */
public final class BatchSources {
    private BatchSources() {}

    /** Packed rows (attention kept within each example) or one padded example per row. */
    public static BatchSource of(List<TokenizedExample> examples, int batchSize, int seqLen, long seed, boolean pack, int padId) {
        return pack ? new PackedBatchSource(examples, batchSize, seqLen, seed, padId)
                : new PaddedBatchSource(examples, batchSize, seqLen, seed, padId);
    }
}
