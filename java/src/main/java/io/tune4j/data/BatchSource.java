package io.tune4j.data;

/**
 * Batches of a dataset in a deterministic order per (seed, epoch). Random access by
 * (epoch, index) is what makes an interrupted run resume exactly where it stopped.
 */
public interface BatchSource {
    int batchSize();

    int seqLen();

    int batchesPerEpoch();

    Batch batch(int epoch, int index);
}
