package io.tune4j.data;

import java.util.List;

/** One example per row, padded to seqLen; no kvStart (padding follows the example, nothing precedes it). */
public final class PaddedBatchSource extends RowBatchSource {
    public PaddedBatchSource(List<TokenizedExample> examples, int batchSize, int seqLen, long seed, int padId) {
        super(examples.stream().map(PackedRow::of).toList(), batchSize, seqLen, seed, padId, false);
    }
}
