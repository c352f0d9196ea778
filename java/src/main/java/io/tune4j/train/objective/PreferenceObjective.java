package io.tune4j.train.objective;

import io.tune4j.ops.PreferenceLosses;
import io.tune4j.train.TrainConfig;

/** A loss over (chosen, rejected) pairs, computed from the policy's (and perhaps a reference's) log-probabilities. */
public interface PreferenceObjective {
    Objective objective();

    /** Whether the loss compares against a frozen reference model. */
    boolean needsReference();

    /** reference is null when {@link #needsReference()} is false. gradScale multiplies the returned gradients. */
    PreferenceLosses.Result loss(PairLogProbs policy, PairLogProbs reference, double gradScale);

    /** The objective a configuration names; SFT is not a preference objective. */
    static PreferenceObjective of(TrainConfig c) {
        return switch (c.objective()) {
            case DPO -> new DpoObjective(c.beta());
            case ORPO -> new OrpoObjective(c.orpoLambda());
            case SFT -> throw new IllegalArgumentException("sft is not a preference objective");
        };
    }
}
