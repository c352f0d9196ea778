package io.tune4j.eval;

import io.tune4j.data.Batch;
import io.tune4j.data.BatchSource;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.TrainingContext;
import io.tune4j.ops.PreferenceLosses;
import io.tune4j.train.objective.PairLogProbs;

/**
 * Preference accuracy of a model on held-out pairs: the fraction whose chosen response the model finds more
 * likely than the rejected one (summed log-probabilities), and the mean log-probability margin. Unlike the
 * training metric rewards/accuracy this needs no reference, so base and tuned models compare directly.
 */
public final class PreferenceEval {
    private PreferenceEval() {}

    public record Result(int pairs, double accuracy, double meanLogpMargin) {
        public String summary() {
            return String.format(java.util.Locale.ROOT, "preference accuracy %.4f over %d pairs, mean log-prob margin %.4f",
                    accuracy, pairs, meanLogpMargin);
        }

        public String toJson() {
            return String.format(java.util.Locale.ROOT, "{\"pairs\": %d, \"preference_accuracy\": %s, \"logp_margin\": %s}",
                    pairs, accuracy, meanLogpMargin);
        }
    }

    /** Over the first maxBatches batches of epoch 0 (0: all); the model as it is (attach or switch methods before). */
    public static Result evaluate(LlamaModel model, BatchSource pairs, int maxBatches) {
        int n = maxBatches > 0 ? Math.min(maxBatches, pairs.batchesPerEpoch()) : pairs.batchesPerEpoch();
        int counted = 0;
        double correct = 0, margin = 0;
        try (TrainingContext c = model.newTrainingContext(pairs.batchSize(), pairs.seqLen())) {
            for (int i = 0; i < n; i++) {
                Batch b = pairs.batch(0, i);
                c.setBatch(b.ids(), b.targets(), b.positions(), b.kvStart());
                PairLogProbs p = PairLogProbs.of(model.sequenceLogProbs(c));
                // DPO's sums against a zero reference with beta 1 are exactly the log-prob margin and the ranking
                double[] zero = new double[p.pairs()];
                PreferenceLosses.Result r = PreferenceLosses.dpo(p.chosen(), p.rejected(), zero, zero, p.chosenCount(),
                        p.rejectedCount(), 1.0, 0.0);
                counted += r.pairs();
                correct += r.correct();
                margin += r.marginSum();
            }
        }
        return new Result(counted, counted == 0 ? Double.NaN : correct / counted, counted == 0 ? Double.NaN : margin / counted);
    }
}
