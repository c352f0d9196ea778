package io.tune4j.train.objective;

import io.tune4j.ops.PreferenceLosses;

/**
 * ORPO: the chosen response's mean token NLL plus lambda times -log sigma of the log odds ratio between the
 * chosen and rejected responses, odds taken from the length-normalised log-probabilities.
 */
public record OrpoObjective(double lambda) implements PreferenceObjective {
    public OrpoObjective {
        if (!(lambda >= 0)) throw new IllegalArgumentException("orpo lambda must be >= 0, got " + lambda);
    }

    @Override
    public Objective objective() {
        return Objective.ORPO;
    }

    @Override
    public boolean needsReference() {
        return false;
    }

    @Override
    public PreferenceLosses.Result loss(PairLogProbs policy, PairLogProbs reference, double gradScale) {
        return PreferenceLosses.orpo(policy.chosen(), policy.rejected(), policy.chosenCount(), policy.rejectedCount(),
                lambda, gradScale);
    }
}
