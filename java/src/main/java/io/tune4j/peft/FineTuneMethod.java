package io.tune4j.peft;

import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import java.nio.file.Path;
import java.util.List;

/**
 * A way of fine-tuning (full, LoRA, adapters, prefix tuning) as a plug-in over the same model:
 * it attaches to the model, says which parameters train, and saves a deployable result.
 */
public interface FineTuneMethod extends AutoCloseable {

    /** The name of its {@link MethodPlugin} ("full", "lora", "adapter", "prefix", ...). */
    String name();

    /** Installs itself (wraps projections, inserts adapters or a prefix) and makes its parameters trainable. */
    void attach(LlamaModel model);

    /** The parameters the optimiser updates. */
    List<Parameter> trainableParameters();

    /** Called before every forward (e.g. prefix tuning computes its keys/values through its MLP). */
    default void beforeForward() {}

    /**
     * Training mode (default after attach) or evaluation: training-only noise such as LoRA dropout
     * applies only in training mode. Decoding never applies it.
     */
    default void setTraining(boolean training) {}

    /**
     * Whether {@link #setEnabled} can take the method out of the model for a while, leaving the base model
     * (which DPO uses as its frozen reference). A full fine-tune has no separate base to fall back to.
     */
    default boolean canDisable() {
        return false;
    }

    /** Switches the method off (the model computes as the base model) or back on; attach leaves it on. */
    default void setEnabled(boolean enabled) {
        if (!enabled) throw new UnsupportedOperationException("fine-tuning method '" + name() + "' cannot be switched off");
    }

    /** Called after every backward (e.g. prefix tuning backpropagates into its MLP). */
    default void afterBackward() {}

    /**
     * Writes the deployable result into dir: a PEFT-layout adapter directory (LoRA, prefix), the
     * documented adapter format, or a complete model directory (full). Files are written to a temp
     * name, fsynced and renamed.
     */
    void save(Path dir);

    /**
     * The base weights this method changes, by their Hugging Face names, each folded into a plain
     * weight on demand (empty: the model's weights are the result as they are). Only methods whose
     * plug-in says they are mergeable implement it.
     */
    default java.util.Map<String, MergedWeight> mergedWeights() {
        throw new UnsupportedOperationException("fine-tuning method '" + name() + "' cannot be merged into plain weights");
    }

    @Override
    default void close() {}
}
