package io.tune4j.train.objective;

import io.tune4j.data.Batch;
import io.tune4j.model.TrainingContext;

/** The frozen model DPO measures the policy against. */
public interface ReferenceModel {
    /** The reference's log-probabilities of batch b, which is loaded in c; may run a forward on c. */
    PairLogProbs logProbs(TrainingContext c, Batch b);
}
