package io.tune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import io.tune4j.model.LlamaModel;
import java.nio.file.Path;
import java.util.List;

/**
 * A fine-tuning method as a plug-in: what it is called, what it saves, its settings, how it is
 * created for training and loaded from a saved directory, and what the entry points may do with
 * it (merge it, share a serving batch). Found by {@link java.util.ServiceLoader} through
 * {@link Methods}; a method on the classpath with a META-INF/services entry for this interface is
 * available to finetune, eval, generate, merge, export and the server without naming it anywhere.
 */
public interface MethodPlugin {

    /** The name runs and the jobs API use: "lora", "adapter", "prefix", "full", ... */
    String name();

    /** One line for help and error messages. */
    String description();

    /**
     * The peft_type its adapter_config.json carries (PEFT's LORA, PREFIX_TUNING, or tune4j's
     * BOTTLENECK); null where the result is a whole model directory rather than an adapter.
     */
    String peftType();

    /**
     * Whether a saved config whose peft_type is this method's is this method's: methods that share a
     * peft_type (LoRA and DoRA both save LORA) tell theirs apart by the other fields.
     */
    default boolean recognises(JsonNode adapterConfig) {
        return true;
    }

    /** The settings, in the order run.yaml lists them; their defaults are the method's defaults. */
    List<MethodOption> options();

    default MethodOption option(String name) {
        for (MethodOption o : options()) if (o.name().equals(name)) return o;
        return null;
    }

    /**
     * A fresh, unattached method for training.
     *
     * @param modelSource the model directory or file the run starts from (full fine-tuning copies its config)
     * @param seed        the run's seed, for initialisation and dropout
     */
    FineTuneMethod create(MethodOptions options, Path modelSource, long seed);

    /** Reads a directory this method saved, attaches it to model, frozen and in inference mode. */
    default FineTuneMethod load(Path dir, LlamaModel model) {
        throw new UnsupportedOperationException("method " + name() + " saves a whole model, not an adapter: load it with --model");
    }

    /** Null when {@link FineTuneMethod#mergedWeights} folds the method into plain weights; otherwise why it cannot. */
    default String whyNotMergeable() {
        return null;
    }

    default boolean mergeable() {
        return whyNotMergeable() == null;
    }

    /**
     * Whether the saved adapter described by adapterConfig can be served in the server's shared
     * multi-LoRA batch, next to other adapters and the base model, where every row adds only
     * scale·B·A to the base projections. A method that changes anything else must run alone.
     */
    default boolean sharesBatch(JsonNode adapterConfig) {
        return false;
    }

    /**
     * Whether attaching it replaces the model's projections (so the multi-LoRA bank's wrappers must
     * step aside while it is attached).
     */
    default boolean wrapsProjections() {
        return false;
    }

    /** The jobs API's starting learning rate before the multiplier. */
    double defaultLearningRate();
}
