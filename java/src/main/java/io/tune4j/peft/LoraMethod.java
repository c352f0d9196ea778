package io.tune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.DecoderLayer;
import io.tune4j.model.DenseProjection;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.Projection;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * LoRA (Hu et al.): every target projection of every layer becomes a {@link LoraProjection} with
 * A Kaiming-uniform (bound 1/sqrt(in), PEFT's kaiming_uniform_(a=sqrt(5))) and B zero, so the model
 * at step 0 is the base model. The base weights are frozen. Saved and loaded in PEFT's layout:
 * adapter_config.json (peft_type LORA) and adapter_model.safetensors with
 * {@code base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight} [r, in] and
 * {@code ...lora_B.weight} [out, r]. With {@code modules_to_save} (see {@link SavedModules}) the
 * selected RMSNorm weights train too, as copies, saved as {@code base_model.model.model.norm.weight}
 * and the like.
 */
public final class LoraMethod implements FineTuneMethod {
    /** A wrapped projection and where it sits. */
    public record Site(int layer, String module, LoraProjection projection) {
        public String keyPrefix() {
            return PeftFiles.KEY_PREFIX + PeftFiles.modulePath(layer, module);
        }
    }

    private final LoraConfig cfg;
    private final List<Site> sites = new ArrayList<>();
    private final SavedModules savedModules = new SavedModules();
    private LlamaModel model;
    private String baseModel;
    private long step;

    public LoraMethod(LoraConfig cfg) {
        this.cfg = cfg;
    }

    public LoraConfig config() {
        return cfg;
    }

    /** base_model_name_or_path written into adapter_config.json. */
    public LoraMethod baseModel(String nameOrPath) {
        this.baseModel = nameOrPath;
        return this;
    }

    public List<Site> sites() {
        return List.copyOf(sites);
    }

    @Override
    public String name() {
        return "lora";
    }

    @Override
    public void attach(LlamaModel model) {
        if (this.model != null) throw new IllegalStateException("LoRA is already attached to a model");
        int r = cfg.r();
        for (DecoderLayer layer : model.layers()) {
            for (String module : cfg.targetModules()) {
                if (!(layer.projection(module) instanceof DenseProjection)) {
                    throw new IllegalStateException("layer " + layer.index() + " " + module + " is already wrapped by "
                            + layer.projection(module).getClass().getSimpleName() + "; detach the other method first");
                }
            }
        }
        // checked before anything changes: an entry that selects no norm of this model fails here
        SavedModules.resolve(cfg.modulesToSave(), model.config());
        for (Parameter p : model.parameters()) p.freeze();
        for (DecoderLayer layer : model.layers()) {
            for (int mi = 0; mi < cfg.targetModules().size(); mi++) {
                String module = cfg.targetModules().get(mi);
                DenseProjection base = (DenseProjection) layer.projection(module);
                int in = base.inFeatures(), out = base.outFeatures();
                long site = (long) layer.index() * PeftFiles.MODULES.size() + PeftFiles.MODULES.indexOf(module);
                String key = PeftFiles.KEY_PREFIX + PeftFiles.modulePath(layer.index(), module);
                Parameter a = new Parameter(key + ".lora_A.weight", kaimingUniform(r, in, Seeds.mix(cfg.seed(), -1, site)));
                Parameter b = new Parameter(key + ".lora_B.weight", Tensor.zeros(out, r));
                a.requireGrad();
                b.requireGrad();
                LoraProjection p = new LoraProjection(model.ops(), base, a, b, cfg.scale(), cfg.dropout(),
                        () -> Seeds.mix(cfg.seed(), step, site));
                layer.replaceProjection(module, p);
                sites.add(new Site(layer.index(), module, p));
            }
        }
        savedModules.attach(model, cfg.modulesToSave());
        this.model = model;
    }

    /** The trainable copies of the modules_to_save weights (named as the base weights they replace). */
    public List<Parameter> savedModuleParameters() {
        return savedModules.parameters();
    }

    private static Tensor kaimingUniform(int rows, int in, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double bound = 1.0 / Math.sqrt(in);
        float[] v = new float[Math.multiplyExact(rows, in)];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
        return Tensor.of(v, rows, in);
    }

    @Override
    public List<Parameter> trainableParameters() {
        List<Parameter> out = new ArrayList<>();
        for (Site s : sites) {
            out.add(s.projection.loraA());
            out.add(s.projection.loraB());
        }
        out.addAll(savedModules.parameters());
        return out;
    }

    /** Advances the dropout step: every forward draws fresh masks, its backward reuses them. */
    @Override
    public void beforeForward() {
        step++;
    }

    @Override
    public boolean canDisable() {
        return true;
    }

    @Override
    public void setEnabled(boolean enabled) {
        if (model == null) throw new IllegalStateException("LoRA is not attached to a model");
        for (Site s : sites) {
            DecoderLayer layer = model.layers().get(s.layer);
            layer.replaceProjection(s.module, enabled ? s.projection : s.projection.base());
        }
        savedModules.setEnabled(enabled);
    }

    @Override
    public void setTraining(boolean training) {
        for (Site s : sites) s.projection.setTraining(training);
    }

    @Override
    public void save(Path dir) {
        requireAttached();
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (Site s : sites) {
            w.add(s.keyPrefix() + ".lora_A.weight", s.projection.loraA().value());
            w.add(s.keyPrefix() + ".lora_B.weight", s.projection.loraB().value());
        }
        savedModules.save(w);
        w.write(dir.resolve(PeftFiles.WEIGHTS));
        PeftFiles.writeJson(dir.resolve(PeftFiles.CONFIG), configJson());
    }

    ObjectNode configJson() {
        ObjectNode c = PeftFiles.object();
        c.put("peft_type", "LORA");
        c.put("task_type", "CAUSAL_LM");
        c.put("r", cfg.r());
        c.put("lora_alpha", cfg.alpha());
        c.put("lora_dropout", cfg.dropout());
        ArrayNode targets = c.putArray("target_modules");
        cfg.targetModules().forEach(targets::add);
        c.put("use_rslora", cfg.useRsLora());
        c.put("bias", "none");
        c.put("base_model_name_or_path", baseModel);
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        if (cfg.modulesToSave().isEmpty()) {
            c.putNull("modules_to_save");
        } else {
            ArrayNode mods = c.putArray("modules_to_save");
            cfg.modulesToSave().forEach(mods::add);
        }
        c.putNull("layers_to_transform");
        c.put("use_dora", false);
        return c;
    }

    /**
     * Reads a PEFT LoRA directory (adapter_config.json + adapter_model.safetensors, any of F32/F16/BF16),
     * attaches it to the model and switches it to inference (no dropout).
     */
    public static LoraMethod load(Path dir, LlamaModel model) {
        Saved saved = readConfig(dir);
        LoraMethod m = new LoraMethod(saved.config());
        m.baseModel = saved.baseModel();
        m.attach(model);
        Path weights = dir.resolve(PeftFiles.WEIGHTS);
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (Site s : m.sites) {
                copy(f, s.keyPrefix() + ".lora_A.weight", s.projection.loraA());
                copy(f, s.keyPrefix() + ".lora_B.weight", s.projection.loraB());
            }
            m.savedModules.load(f);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        m.setTraining(false);
        for (Parameter p : m.trainableParameters()) p.freeze();
        return m;
    }

    /** What a PEFT LoRA directory's adapter_config.json says; the weights are read separately. */
    public record Saved(LoraConfig config, String baseModel) {}

    /** Reads and validates dir/adapter_config.json of a PEFT LoRA directory; errors name the file and field. */
    public static Saved readConfig(Path dir) {
        Path file = dir.resolve(PeftFiles.CONFIG);
        JsonNode c = PeftFiles.readConfig(dir);
        String type = PeftFiles.reqText(file, c, "peft_type");
        if (!type.equals("LORA")) throw new ModelFormatException(file, "peft_type is " + type + ", expected LORA");
        int r = PeftFiles.reqInt(file, c, "r");
        float alpha = (float) PeftFiles.optNumber(file, c, "lora_alpha", 8);
        float dropout = (float) PeftFiles.optNumber(file, c, "lora_dropout", 0);
        boolean rs = PeftFiles.optBool(file, c, "use_rslora", false);
        if (PeftFiles.optBool(file, c, "fan_in_fan_out", false)) {
            throw new ModelFormatException(file, "fan_in_fan_out true is for GPT-2-style Conv1D weights, not Llama");
        }
        if (PeftFiles.optBool(file, c, "use_dora", false)) throw new ModelFormatException(file, "DoRA (use_dora) is not supported");
        if (c.hasNonNull("bias") && !c.get("bias").asText().equals("none")) {
            throw new ModelFormatException(file, "bias '" + c.get("bias").asText() + "' is not supported (expected none)");
        }
        for (String f : List.of("rank_pattern", "alpha_pattern")) {
            if (c.hasNonNull(f) && c.get(f).size() > 0) throw new ModelFormatException(file, "'" + f + "' is not supported");
        }
        if (c.hasNonNull("layers_to_transform")) throw new ModelFormatException(file, "'layers_to_transform' is not supported");
        List<String> targets = new ArrayList<>();
        JsonNode t = c.get("target_modules");
        if (t == null || t.isNull()) throw new ModelFormatException(file, "field 'target_modules' is missing");
        if (t.isTextual()) {
            targets.add(t.asText());
        } else if (t.isArray()) {
            for (JsonNode n : t) targets.add(n.asText().substring(n.asText().lastIndexOf('.') + 1));
        } else {
            throw new ModelFormatException(file, "field 'target_modules' must be a list of module names");
        }
        // PEFT keeps target_modules as a set: fixed order here keeps attachment deterministic
        targets.sort(java.util.Comparator.comparingInt(PeftFiles.MODULES::indexOf));
        List<String> modulesToSave = new ArrayList<>();
        JsonNode mts = c.get("modules_to_save");
        if (mts != null && !mts.isNull()) {
            if (!mts.isArray()) throw new ModelFormatException(file, "field 'modules_to_save' must be a list of module names or null");
            for (JsonNode n : mts) {
                if (!n.isTextual()) throw new ModelFormatException(file, "field 'modules_to_save' must be a list of module names");
                modulesToSave.add(n.asText());
            }
        }
        LoraConfig cfg;
        try {
            cfg = new LoraConfig(r, alpha, dropout, targets, rs, 0L, modulesToSave);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage(), e);
        }
        return new Saved(cfg, c.hasNonNull("base_model_name_or_path") ? c.get("base_model_name_or_path").asText() : null);
    }

    static void copy(SafetensorsFile f, String key, Parameter into) {
        copy(f, key, into.value());
    }

    /** Copies tensor key of f (any stored float type) into a tensor of the same shape. */
    static void copy(SafetensorsFile f, String key, Tensor into) {
        if (!f.contains(key)) throw new ModelFormatException(f.path(), "tensor '" + key + "' is missing");
        Tensor src = f.tensor(key);
        if (!Arrays.equals(src.shape(), into.shape())) {
            throw new ModelFormatException(f.path(), "tensor '" + key + "' has shape " + Arrays.toString(src.shape())
                    + ", expected " + Arrays.toString(into.shape()));
        }
        into.copyFrom(src);
    }

    private void requireAttached() {
        if (model == null) throw new IllegalStateException("LoRA is not attached to a model");
    }

    /** Puts the original projections (and modules_to_save weights) back and frees the LoRA weights. */
    @Override
    public void close() {
        savedModules.close();
        for (Site s : sites) {
            DecoderLayer layer = model.layers().get(s.layer);
            Projection current = layer.projection(s.module);
            if (current == s.projection) layer.replaceProjection(s.module, s.projection.base());
            s.projection.close();
        }
        sites.clear();
        model = null;
    }
}
