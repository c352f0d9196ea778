package io.tune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.DecoderLayer;
import io.tune4j.model.DenseProjection;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.Projection;
import io.tune4j.model.arch.ModuleTable;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
public final class LoraMethod extends PeftMethod {
    public static final String PEFT_TYPE = "LORA";

    /** A wrapped projection and where it sits. */
    public record Site(int layer, String module, LoraProjection projection) {
        public String keyPrefix() {
            return PeftFiles.KEY_PREFIX + PeftFiles.modulePath(layer, module);
        }
    }

    /** The LoRA settings every LoRA variant shares, with their jobs-API names. */
    public static List<MethodOption> loraOptions() {
        LoraConfig d = LoraConfig.defaults();
        return List.of(
                MethodOption.integer("r", d.r(), "lora_r", 1, 4096, "rank"),
                MethodOption.number("alpha", d.alpha(), "lora_alpha", 0, 1e6, "lora_alpha: the update is scaled by alpha/r"),
                MethodOption.number("dropout", d.dropout(), "lora_dropout", 0, 0.99, "lora_dropout on the projection's input"),
                MethodOption.list("targetModules", d.targetModules(), "target_modules", "projections to wrap, e.g. q_proj,v_proj"),
                MethodOption.bool("rsLora", d.useRsLora(), null, "scale by alpha/sqrt(r) (rank-stabilised LoRA)"));
    }

    /** The LoRA settings of a run as a config (with PEFT's modules_to_save where modulesToSave is given). */
    public static LoraConfig loraConfig(MethodOptions o, long seed, List<String> modulesToSave) {
        return loraConfig(o, null, seed, modulesToSave);
    }

    /**
     * As above, for a run on modelSource: without target modules given, the default targets are that
     * family's attention projections (qkv_proj and o_proj on Phi-3, whose q, k and v are one matrix), so
     * that a plain {@code --method lora} trains the same part of every family.
     */
    public static LoraConfig loraConfig(MethodOptions o, Path modelSource, long seed, List<String> modulesToSave) {
        List<String> targets = o.has("targetModules") ? o.list("targetModules") : defaultTargets(modelSource);
        return new LoraConfig(o.integer("r"), o.number("alpha"), o.number("dropout"), targets, o.bool("rsLora"), seed,
                modulesToSave);
    }

    /** The attention projections of the family at modelSource; Llama's q, k, v, o where it is not an HF directory. */
    static List<String> defaultTargets(Path modelSource) {
        if (modelSource == null || !Files.isRegularFile(modelSource.resolve(LlamaConfigReader.CONFIG))) {
            return LoraConfig.ATTENTION;
        }
        try {
            return ModuleTable.attentionProjectionNames(LlamaConfigReader.read(modelSource));
        } catch (RuntimeException e) {
            // the model's own load reports what is wrong with its config, naming the file and field
            return LoraConfig.ATTENTION;
        }
    }

    /** The registry's entry for LoRA. */
    public static final class Plugin implements MethodPlugin {
        @Override
        public String name() {
            return "lora";
        }

        @Override
        public String description() {
            return "LoRA: a trainable low-rank update scale*B*A beside each target projection (PEFT peft_type LORA)";
        }

        @Override
        public String peftType() {
            return PEFT_TYPE;
        }

        @Override
        public boolean recognises(JsonNode c) {
            return !c.path("use_dora").asBoolean(false);
        }

        @Override
        public List<MethodOption> options() {
            List<MethodOption> o = new ArrayList<>(loraOptions());
            o.add(MethodOption.list("modulesToSave", List.of(), null, "PEFT's modules_to_save: RMSNorm weights that train "
                    + "whole and are saved with the adapter (norm, input_layernorm, post_attention_layernorm)"));
            return o;
        }

        @Override
        public FineTuneMethod create(MethodOptions o, Path modelSource, long seed) {
            return new LoraMethod(loraConfig(o, modelSource, seed, o.list("modulesToSave")));
        }

        @Override
        public FineTuneMethod load(Path dir, LlamaModel model) {
            return LoraMethod.load(dir, model);
        }

        /** Plain LoRA only adds scale*B*A: the bank's rows do exactly that. modules_to_save replace base weights. */
        @Override
        public boolean sharesBatch(JsonNode c) {
            JsonNode saved = c.get("modules_to_save");
            return saved == null || saved.isNull() || saved.isEmpty();
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
    private final SavedModules savedModules = new SavedModules();
    private long step;

    public LoraMethod(LoraConfig cfg) {
        super("LoRA");
        this.cfg = cfg;
    }

    public LoraConfig config() {
        return cfg;
    }

    @Override
    public LoraMethod baseModel(String nameOrPath) {
        super.baseModel(nameOrPath);
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
    protected String peftType() {
        return PEFT_TYPE;
    }

    @Override
    protected void checkAttachable(LlamaModel model) {
        requireDense(model, cfg.targetModules());
        // an entry that selects no norm of this model fails here
        SavedModules.resolve(cfg.modulesToSave(), model.config());
    }

    /** Refuses target modules that are not projections of this model's family (q_proj on Phi-3, qkv_proj on Llama). */
    public static void requireProjections(LlamaModel model, List<String> modules) {
        List<String> own = PeftFiles.modules(model.config());
        for (String m : modules) {
            if (!own.contains(m)) {
                throw new IllegalArgumentException("LoRA target module '" + m + "' is not a projection of "
                        + model.config().modelType() + " layers (expected some of " + own + ")");
            }
        }
    }

    /** Refuses target projections that another method has wrapped already. */
    public static void requireDense(LlamaModel model, List<String> modules) {
        requireProjections(model, modules);
        for (DecoderLayer layer : model.layers()) {
            for (String module : modules) {
                if (!(layer.projection(module) instanceof DenseProjection)) {
                    throw new IllegalStateException("layer " + layer.index() + " " + module + " is already wrapped by "
                            + layer.projection(module).getClass().getSimpleName() + "; detach the other method first");
                }
            }
        }
    }

    @Override
    protected void install(LlamaModel model) {
        for (DecoderLayer layer : model.layers()) {
            for (String module : cfg.targetModules()) {
                DenseProjection base = (DenseProjection) layer.projection(module);
                String key = PeftFiles.KEY_PREFIX + PeftFiles.modulePath(layer.index(), module);
                Parameter a = initialA(model.ops(), cfg, layer.index(), module, base.inFeatures(), key + ".lora_A.weight");
                Parameter b = new Parameter(key + ".lora_B.weight", model.ops().zeros(base.outFeatures(), cfg.r()));
                a.requireGrad(model.ops());
                b.requireGrad(model.ops());
                long site = siteId(layer.index(), module);
                LoraProjection p = new LoraProjection(model.ops(), base, a, b, cfg.scale(), cfg.dropout(),
                        () -> Seeds.mix(cfg.seed(), step, site));
                layer.replaceProjection(module, p);
                sites.add(new Site(layer.index(), module, p));
            }
        }
        savedModules.attach(model, cfg.modulesToSave());
    }

    private static long siteId(int layer, String module) {
        return (long) layer * ModuleTable.Proj.SITES_PER_LAYER + ModuleTable.Proj.of(module).site;
    }

    /**
     * LoRA's A for one site [r, in]: Kaiming-uniform with bound 1/sqrt(in) (PEFT's
     * kaiming_uniform_(a=sqrt(5))), drawn from a stream of its own so sites do not depend on one another.
     */
    public static Parameter initialA(Ops ops, LoraConfig cfg, int layer, String module, int in, String name) {
        SplittableRandom rng = new SplittableRandom(Seeds.mix(cfg.seed(), -1, siteId(layer, module)));
        double bound = 1.0 / Math.sqrt(in);
        float[] v = new float[Math.multiplyExact(cfg.r(), in)];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
        return new Parameter(name, ops.tensor(v, cfg.r(), in));
    }

    /** The dropout seed of one site at one step (every forward draws fresh masks, its backward reuses them). */
    public static long dropoutSeed(LoraConfig cfg, long step, int layer, String module) {
        return Seeds.mix(cfg.seed(), step, siteId(layer, module));
    }

    /** The trainable copies of the modules_to_save weights (named as the base weights they replace). */
    public List<Parameter> savedModuleParameters() {
        return savedModules.parameters();
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
    protected void enable(boolean enabled) {
        for (Site s : sites) {
            DecoderLayer layer = model().layers().get(s.layer);
            layer.replaceProjection(s.module, enabled ? s.projection : s.projection.base());
        }
        savedModules.setEnabled(enabled);
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
        }
        savedModules.save(w);
    }

    @Override
    protected void writeConfig(ObjectNode c) {
        writeLoraFields(c, cfg, false);
    }

    /** PEFT's LoraConfig fields for cfg, with use_dora as given. */
    public static void writeLoraFields(ObjectNode c, LoraConfig cfg, boolean useDora) {
        c.put("r", cfg.r());
        c.put("lora_alpha", cfg.alpha());
        c.put("lora_dropout", cfg.dropout());
        ArrayNode targets = c.putArray("target_modules");
        cfg.targetModules().forEach(targets::add);
        c.put("use_rslora", cfg.useRsLora());
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("init_lora_weights", true);
        if (cfg.modulesToSave().isEmpty()) {
            c.putNull("modules_to_save");
        } else {
            ArrayNode mods = c.putArray("modules_to_save");
            cfg.modulesToSave().forEach(mods::add);
        }
        c.putNull("layers_to_transform");
        c.put("use_dora", useDora);
    }

    /** W + scale*B*A for every wrapped projection; the modules_to_save copies are the model's weights while attached. */
    @Override
    public Map<String, MergedWeight> mergedWeights() {
        Map<String, MergedWeight> out = new LinkedHashMap<>();
        for (Site s : sites) {
            LoraProjection p = s.projection;
            out.put(p.base().weight().name(), (ops, arena) -> Merger.mergedWeight(ops, p, arena));
        }
        return out;
    }

    /**
     * Reads a PEFT LoRA directory (adapter_config.json + adapter_model.safetensors, any of F32/F16/BF16),
     * attaches it to the model and switches it to inference (no dropout).
     */
    public static LoraMethod load(Path dir, LlamaModel model) {
        Saved saved = readConfig(dir);
        LoraMethod m = new LoraMethod(saved.config());
        return attachSaved(m, dir, PeftFiles.readConfig(dir), model, f -> {
            for (Site s : m.sites) {
                copy(model.ops(), f, s.keyPrefix() + ".lora_A.weight", s.projection.loraA());
                copy(model.ops(), f, s.keyPrefix() + ".lora_B.weight", s.projection.loraB());
            }
            m.savedModules.load(f);
        });
    }

    /** What a PEFT LoRA directory's adapter_config.json says; the weights are read separately. */
    public record Saved(LoraConfig config, String baseModel) {}

    /** Reads and validates dir/adapter_config.json of a plain PEFT LoRA directory; errors name the file and field. */
    public static Saved readConfig(Path dir) {
        Path file = dir.resolve(PeftFiles.CONFIG);
        JsonNode c = readConfig(dir, PEFT_TYPE);
        if (PeftFiles.optBool(file, c, "use_dora", false)) {
            throw new ModelFormatException(file, "use_dora is true: this is a DoRA adapter, which plain LoRA (and the "
                    + "shared multi-LoRA batch) cannot apply");
        }
        return parseConfig(file, c);
    }

    /**
     * The LoRA fields of a PEFT LORA config, use_dora aside (variants such as DoRA check it
     * themselves); errors name the file and field.
     */
    public static Saved parseConfig(Path file, JsonNode c) {
        int r = PeftFiles.reqInt(file, c, "r");
        float alpha = (float) PeftFiles.optNumber(file, c, "lora_alpha", 8);
        float dropout = (float) PeftFiles.optNumber(file, c, "lora_dropout", 0);
        boolean rs = PeftFiles.optBool(file, c, "use_rslora", false);
        if (PeftFiles.optBool(file, c, "fan_in_fan_out", false)) {
            throw new ModelFormatException(file, "fan_in_fan_out true is for GPT-2-style Conv1D weights, not Llama");
        }
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
        targets.sort(java.util.Comparator.comparingInt(PeftFiles.ALL_MODULES::indexOf));
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

    static void copy(Ops ops, SafetensorsFile f, String key, Parameter into) {
        PeftFiles.copy(ops, f, key, into.value());
    }

    /** Puts the original projections (and modules_to_save weights) back and frees the LoRA weights. */
    @Override
    protected void release(LlamaModel model) {
        savedModules.close();
        for (Site s : sites) {
            DecoderLayer layer = model.layers().get(s.layer);
            Projection current = layer.projection(s.module);
            if (current == s.projection) layer.replaceProjection(s.module, s.projection.base());
            s.projection.close();
        }
        sites.clear();
    }
}
