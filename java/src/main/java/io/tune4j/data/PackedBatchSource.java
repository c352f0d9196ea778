package io.tune4j.data;

import java.util.List;

/**
 * Short examples packed into full rows ({@link Packer}); kvStart keeps every example from
 * attending to the ones packed before it, and positions restart at each example.
 */
public final class PackedBatchSource extends RowBatchSource {
    public PackedBatchSource(List<TokenizedExample> examples, int batchSize, int seqLen, long seed, int padId) {
        super(Packer.pack(examples, seqLen), batchSize, seqLen, seed, padId, true);
    }
}
