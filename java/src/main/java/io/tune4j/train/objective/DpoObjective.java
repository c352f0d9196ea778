package io.tune4j.train.objective;

import io.tune4j.ops.PreferenceLosses;

/** DPO with the sigmoid loss: -log sigma(beta * (chosen's log-ratio to the reference - rejected's)). */
public record DpoObjective(double beta) implements PreferenceObjective {
    public DpoObjective {
        if (!(beta > 0)) throw new IllegalArgumentException("beta must be > 0, got " + beta);
    }

    @Override
    public Objective objective() {
        return Objective.DPO;
    }

    @Override
    public boolean needsReference() {
        return true;
    }

    @Override
    public PreferenceLosses.Result loss(PairLogProbs policy, PairLogProbs reference, double gradScale) {
        return PreferenceLosses.dpo(policy.chosen(), policy.rejected(), reference.chosen(), reference.rejected(),
                policy.chosenCount(), policy.rejectedCount(), beta, gradScale);
    }
}
