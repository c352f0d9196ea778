package io.tune4j.train.objective;

import io.tune4j.data.Batch;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.TrainingContext;
import io.tune4j.peft.FineTuneMethod;

/**
 * The reference of a parameter-efficient method: the base model itself, with the method switched off for
 * one forward. The base weights are frozen, so this is the initial policy without a second copy of them.
 */
public final class MethodOffReference implements ReferenceModel {
    private final LlamaModel model;
    private final FineTuneMethod method;

    public MethodOffReference(LlamaModel model, FineTuneMethod method) {
        if (!method.canDisable()) {
            throw new IllegalArgumentException("fine-tuning method '" + method.name() + "' cannot be switched off");
        }
        this.model = model;
        this.method = method;
    }

    @Override
    public PairLogProbs logProbs(TrainingContext c, Batch b) {
        method.setEnabled(false);
        try {
            return PairLogProbs.of(model.sequenceLogProbs(c));
        } finally {
            method.setEnabled(true);
        }
    }
}
