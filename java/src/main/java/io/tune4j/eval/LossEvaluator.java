package io.tune4j.eval;

import io.tune4j.data.Batch;
import io.tune4j.data.BatchSource;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.TrainingContext;
import io.tune4j.ops.LossSum;

/** Forward-only loss over a batch source: sums loss and counted tokens across batches. */
public final class LossEvaluator {
    private LossEvaluator() {}

    /**
     * Evaluates epoch 0 of the source, at most maxBatches batches (&lt;= 0: all). beforeForward
     * (may be null) runs before every forward, e.g. a fine-tuning method's hook.
     */
    public static LossResult evaluate(LlamaModel model, BatchSource source, int maxBatches, Runnable beforeForward) {
        int n = source.batchesPerEpoch();
        if (maxBatches > 0) n = Math.min(n, maxBatches);
        double[] total;
        // the batches' losses add up on the model's backend and are read once
        try (TrainingContext c = model.newTrainingContext(source.batchSize(), source.seqLen());
             LossSum acc = model.ops().newLossSum()) {
            for (int i = 0; i < n; i++) {
                Batch b = source.batch(0, i);
                if (b.batchSize() != source.batchSize() || b.seqLen() != source.seqLen()) {
                    throw new IllegalArgumentException("batch " + i + " is [" + b.batchSize() + "," + b.seqLen()
                            + "], the source declares [" + source.batchSize() + "," + source.seqLen() + "]");
                }
                c.setBatch(b.ids(), b.targets(), b.positions(), b.kvStart());
                if (beforeForward != null) beforeForward.run();
                model.forward(c, acc);
            }
            total = acc.take();
        }
        return new LossResult(total[0], (long) total[1], n);
    }
}
