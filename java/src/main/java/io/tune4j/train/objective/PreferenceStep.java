package io.tune4j.train.objective;

import io.tune4j.data.Batch;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.TrainingContext;
import io.tune4j.ops.PreferenceLosses;
import io.tune4j.peft.FineTuneMethod;

/**
 * One preference micro-batch: the reference's log-probabilities (when the objective has one), the policy's
 * forward, the loss and its per-sequence gradients, then one backward weighted by them. The layers run
 * forward once for the policy; only the LM head runs again in the backward.
 */
public final class PreferenceStep {
    private final LlamaModel model;
    private final FineTuneMethod method;
    private final PreferenceObjective objective;
    private final ReferenceModel reference;

    public PreferenceStep(LlamaModel model, FineTuneMethod method, PreferenceObjective objective, ReferenceModel reference) {
        if (objective.needsReference() && reference == null) {
            throw new IllegalArgumentException(objective.objective().id() + " needs a reference model");
        }
        this.model = model;
        this.method = method;
        this.objective = objective;
        this.reference = reference;
    }

    public PreferenceObjective objective() {
        return objective;
    }

    /** Pairs of b whose chosen and rejected rows both have targets (a last partial batch pads with empty rows). */
    public static int countedPairs(Batch b) {
        int pairs = 0, T = b.seqLen();
        for (int k = 0; 2 * k + 1 < b.batchSize(); k++) {
            if (hasTarget(b, 2 * k, T) && hasTarget(b, 2 * k + 1, T)) pairs++;
        }
        return pairs;
    }

    private static boolean hasTarget(Batch b, int row, int T) {
        for (int t = row * T; t < (row + 1) * T; t++) if (b.targets()[t] != io.tune4j.data.TokenizedExample.IGNORE) return true;
        return false;
    }

    /** Forward, loss and backward of b; gradients of gradScale * summed loss are accumulated. */
    public PreferenceLosses.Result train(TrainingContext c, Batch b, double gradScale) {
        PreferenceLosses.Result r = forward(c, b, gradScale);
        float[] w = new float[b.batchSize()];
        for (int k = 0; k < r.gradChosen().length; k++) {
            w[2 * k] = (float) r.gradChosen()[k];
            w[2 * k + 1] = (float) r.gradRejected()[k];
        }
        model.backwardSequenceLogProbs(c, w);
        method.afterBackward();
        return r;
    }

    /** The loss of b without a backward (validation). */
    public PreferenceLosses.Result evaluate(TrainingContext c, Batch b) {
        return forward(c, b, 0);
    }

    private PreferenceLosses.Result forward(TrainingContext c, Batch b, double gradScale) {
        if (b.batchSize() % 2 != 0) throw new IllegalArgumentException("a preference batch has an even number of rows");
        c.setBatch(b.ids(), b.targets(), b.positions(), b.kvStart());
        PairLogProbs ref = objective.needsReference() ? reference.logProbs(c, b) : null;
        method.beforeForward();
        PairLogProbs policy = PairLogProbs.of(model.sequenceLogProbs(c));
        return objective.loss(policy, ref, gradScale);
    }
}
