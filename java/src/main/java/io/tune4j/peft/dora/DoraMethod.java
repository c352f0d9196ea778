package io.tune4j.peft.dora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.DecoderLayer;
import io.tune4j.model.DenseProjection;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.peft.MergedWeight;
import io.tune4j.peft.MethodOption;
import io.tune4j.peft.MethodOptions;
import io.tune4j.peft.MethodPlugin;
import io.tune4j.peft.PeftFiles;
import io.tune4j.peft.PeftMethod;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DoRA (Liu et al. 2024, "Weight-Decomposed Low-Rank Adaptation") as PEFT's LoRA with
 * {@code use_dora: true}: every target projection keeps LoRA's A and B and adds a trainable magnitude
 * m per output row, started at the base weight's row norms so that step 0 is the base model; the
 * adapted weight is m o (W + scale·B·A) / ||W + scale·B·A||, the norm per output row and detached
 * from the gradient (see {@link DoraProjection}).
 *
 * <p>Saved as PEFT saves it: adapter_config.json with peft_type LORA and use_dora true, and
 * adapter_model.safetensors with LoRA's keys plus
 * {@code base_model.model.<module path>.lora_magnitude_vector} [out] per wrapped projection.
 * It merges exactly into plain weights. It never shares the server's multi-LoRA batch, whose rows
 * add only scale·B·A and would drop the magnitude: it is served alone.
 */
public final class DoraMethod extends PeftMethod {
    static final String MAGNITUDE = ".lora_magnitude_vector";

    /** A wrapped projection and where it sits. */
    public record Site(int layer, String module, DoraProjection projection) {
        public String keyPrefix() {
            return PeftFiles.KEY_PREFIX + PeftFiles.modulePath(layer, module);
        }
    }

    /** The registry's entry: LoRA's settings, saved as LORA with use_dora. */
    public static final class Plugin implements MethodPlugin {
        @Override
        public String name() {
            return "dora";
        }

        @Override
        public String description() {
            return "DoRA: LoRA with a trained magnitude per output row (PEFT peft_type LORA, use_dora true)";
        }

        @Override
        public String peftType() {
            return LoraMethod.PEFT_TYPE;
        }

        @Override
        public boolean recognises(JsonNode c) {
            return c.path("use_dora").asBoolean(false);
        }

        @Override
        public List<MethodOption> options() {
            return LoraMethod.loraOptions();
        }

        @Override
        public FineTuneMethod create(MethodOptions o, Path modelSource, long seed) {
            return new DoraMethod(LoraMethod.loraConfig(o, modelSource, seed, List.of()));
        }

        @Override
        public FineTuneMethod load(Path dir, LlamaModel model) {
            return DoraMethod.load(dir, model);
        }

        @Override
        public boolean wrapsProjections() {
            return true;
        }

        @Override
        public double defaultLearningRate() {
            return 2e-4;
        }
    }

    private final LoraConfig cfg;
    private final List<Site> sites = new ArrayList<>();
    private long step;

    public DoraMethod(LoraConfig cfg) {
        super("DoRA");
        if (!cfg.modulesToSave().isEmpty()) {
            throw new IllegalArgumentException("modules_to_save is not supported with DoRA (got " + cfg.modulesToSave() + ")");
        }
        this.cfg = cfg;
    }

    public LoraConfig config() {
        return cfg;
    }

    @Override
    public DoraMethod baseModel(String nameOrPath) {
        super.baseModel(nameOrPath);
        return this;
    }

    public List<Site> sites() {
        return List.copyOf(sites);
    }

    @Override
    public String name() {
        return "dora";
    }

    @Override
    protected String peftType() {
        return LoraMethod.PEFT_TYPE;
    }

    @Override
    protected void checkAttachable(LlamaModel model) {
        LoraMethod.requireDense(model, cfg.targetModules());
    }

    @Override
    protected void install(LlamaModel model) {
        for (DecoderLayer layer : model.layers()) {
            for (String module : cfg.targetModules()) {
                DenseProjection base = (DenseProjection) layer.projection(module);
                int li = layer.index();
                String key = PeftFiles.KEY_PREFIX + PeftFiles.modulePath(li, module);
                Parameter a = LoraMethod.initialA(model.ops(), cfg, li, module, base.inFeatures(), key + ".lora_A.weight");
                Parameter b = new Parameter(key + ".lora_B.weight", model.ops().zeros(base.outFeatures(), cfg.r()));
                Parameter m = new Parameter(key + MAGNITUDE, DoraProjection.rowNorms(model.ops(), base));
                for (Parameter p : List.of(a, b, m)) p.requireGrad(model.ops());
                DoraProjection p = new DoraProjection(model.ops(), base, a, b, m, cfg.scale(), cfg.dropout(),
                        () -> LoraMethod.dropoutSeed(cfg, step, li, module));
                layer.replaceProjection(module, p);
                sites.add(new Site(li, module, p));
            }
        }
    }

    @Override
    public List<Parameter> trainableParameters() {
        List<Parameter> out = new ArrayList<>();
        for (Site s : sites) {
            out.add(s.projection.loraA());
            out.add(s.projection.loraB());
            out.add(s.projection.magnitude());
        }
        return out;
    }

    /** See {@link DoraProjection#holdNorm}: for gradient checks. */
    void holdNorms(boolean hold) {
        for (Site s : sites) s.projection.holdNorm(hold);
    }

    /** Advances the dropout step: every forward draws fresh masks, its backward reuses them. */
    @Override
    public void beforeForward() {
        step++;
    }

    @Override
    protected void enable(boolean enabled) {
        for (Site s : sites) {
            model().layers().get(s.layer).replaceProjection(s.module, enabled ? s.projection : s.projection.base());
        }
    }

    @Override
    public void setTraining(boolean training) {
        for (Site s : sites) s.projection.setTraining(training);
    }

    @Override
    protected void writeWeights(SafetensorsWriter w) {
        for (Site s : sites) {
            w.add(s.keyPrefix() + ".lora_A.weight", s.projection.loraA().value());
            w.add(s.keyPrefix() + ".lora_B.weight", s.projection.loraB().value());
            w.add(s.keyPrefix() + MAGNITUDE, s.projection.magnitude().value());
        }
    }

    @Override
    protected void writeConfig(ObjectNode c) {
        LoraMethod.writeLoraFields(c, cfg, true);
    }

    @Override
    public Map<String, MergedWeight> mergedWeights() {
        Map<String, MergedWeight> out = new LinkedHashMap<>();
        for (Site s : sites) out.put(s.projection.base().weight().name(), s.projection::merged);
        return out;
    }

    /** Reads a PEFT DoRA directory (LORA with use_dora true), attaches it and switches it to inference. */
    public static DoraMethod load(Path dir, LlamaModel model) {
        Path file = dir.resolve(PeftFiles.CONFIG);
        JsonNode c = readConfig(dir, LoraMethod.PEFT_TYPE);
        if (!PeftFiles.optBool(file, c, "use_dora", false)) {
            throw new ModelFormatException(file, "use_dora is not true: this is a plain LoRA adapter (load it as lora)");
        }
        LoraConfig cfg = LoraMethod.parseConfig(file, c).config();
        if (!cfg.modulesToSave().isEmpty()) {
            throw new ModelFormatException(file, "field 'modules_to_save' is not supported with DoRA (got "
                    + cfg.modulesToSave() + ")");
        }
        DoraMethod m = new DoraMethod(cfg);
        return attachSaved(m, dir, c, model, f -> {
            for (Site s : m.sites) {
                PeftFiles.copy(model.ops(), f, s.keyPrefix() + ".lora_A.weight", s.projection.loraA().value());
                PeftFiles.copy(model.ops(), f, s.keyPrefix() + ".lora_B.weight", s.projection.loraB().value());
                PeftFiles.copy(model.ops(), f, magnitudeKey(f, s.keyPrefix()), s.projection.magnitude().value());
                s.projection.weightsChanged();
            }
        });
    }

    // PEFT writes <module>.lora_magnitude_vector; files saved from a raw state dict keep the ".weight"
    // of the layer that holds it
    private static String magnitudeKey(SafetensorsFile f, String prefix) {
        String k = prefix + MAGNITUDE;
        return !f.contains(k) && f.contains(k + ".weight") ? k + ".weight" : k;
    }

    /** Puts the original projections back and frees the DoRA weights. */
    @Override
    protected void release(LlamaModel model) {
        for (Site s : sites) {
            if (model != null) {
                DecoderLayer layer = model.layers().get(s.layer);
                if (layer.projection(s.module) == s.projection) layer.replaceProjection(s.module, s.projection.base());
            }
            s.projection.close();
        }
        sites.clear();
    }
}
