package io.tune4j.peft;

import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Full fine-tuning: every weight of the model trains (a tied LM head once, as the embedding).
 * Saves a complete Hugging Face model directory: config.json and tokenizer files from the source,
 * model.safetensors with the trained weights in F32.
 */
public final class FullMethod implements FineTuneMethod {
    /** The registry's entry for full fine-tuning. */
    public static final class Plugin implements MethodPlugin {
        @Override
        public String name() {
            return "full";
        }

        @Override
        public String description() {
            return "full fine-tuning: every weight trains; saves a complete model directory";
        }

        @Override
        public String peftType() {
            return null;
        }

        @Override
        public List<MethodOption> options() {
            return List.of();
        }

        @Override
        public FineTuneMethod create(MethodOptions options, Path modelSource, long seed) {
            return new FullMethod(modelSource);
        }

        @Override
        public double defaultLearningRate() {
            return 2e-5;
        }
    }

    private final Path source;
    private LlamaModel model;

    /** @param source the model directory (or llama2.c file) config and tokenizer are copied from; may be null */
    public FullMethod(Path source) {
        this.source = source;
    }

    @Override
    public String name() {
        return "full";
    }

    @Override
    public void attach(LlamaModel model) {
        if (this.model != null) throw new IllegalStateException("full fine-tuning is already attached to a model");
        this.model = model;
        for (Parameter p : trainableParameters()) p.requireGrad(model.ops());
    }

    @Override
    public List<Parameter> trainableParameters() {
        if (model == null) throw new IllegalStateException("full fine-tuning is not attached to a model");
        List<Parameter> out = new ArrayList<>();
        for (Parameter p : model.parameters()) if (ModelDirWriter.isBaseWeight(p.name())) out.add(p);
        return out;
    }

    @Override
    public void save(Path dir) {
        if (model == null) throw new IllegalStateException("full fine-tuning is not attached to a model");
        ModelDirWriter.write(dir, model, Map.of(), source);
    }

    /** The trained weights are the model's own: nothing to fold in. */
    @Override
    public Map<String, MergedWeight> mergedWeights() {
        return Map.of();
    }

    /** Frees the gradients; the trained weights stay in the model. */
    @Override
    public void close() {
        if (model != null) for (Parameter p : model.parameters()) p.freeze();
        model = null;
    }
}
