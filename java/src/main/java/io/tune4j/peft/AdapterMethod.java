package io.tune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.DecoderLayer;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.ops.Activation;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Bottleneck adapters (Houlsby et al. 2019; Pfeiffer et al. 2020) on the sub-block outputs, before
 * the residual add: Houlsby puts one after the attention output (o_proj) and one after the MLP
 * output (down_proj), Pfeiffer one after the MLP only. The up-projection starts at zero, so step 0
 * is the base model. The base model is frozen.
 *
 * <p>Saved format (PEFT has no bottleneck adapters; this mirrors its layout, see
 * docs/adapter-format.md): {@code adapter_config.json} with {@code "peft_type": "BOTTLENECK"},
 * {@code adapter_type} (houlsby | pfeiffer), {@code bottleneck_size}, {@code non_linearity},
 * {@code hidden_size}, {@code num_layers}; and {@code adapter_model.safetensors} with, per layer i
 * and position p (self_attn for Houlsby only, mlp for both),
 * {@code base_model.model.model.layers.{i}.{p}.adapter.down.weight} [m, hidden],
 * {@code ...down.bias} [m], {@code ...up.weight} [hidden, m], {@code ...up.bias} [hidden].
 */
public final class AdapterMethod implements FineTuneMethod {
    public static final String PEFT_TYPE = "BOTTLENECK";

    /** An adapter and where it sits: position is "self_attn" or "mlp". */
    public record Site(int layer, String position, AdapterHook hook) {
        public String keyPrefix() {
            return PeftFiles.KEY_PREFIX + "model.layers." + layer + "." + position + ".adapter.";
        }
    }

    private final AdapterConfig cfg;
    private final List<Site> sites = new ArrayList<>();
    private LlamaModel model;
    private String baseModel;

    public AdapterMethod(AdapterConfig cfg) {
        this.cfg = cfg;
    }

    public AdapterConfig config() {
        return cfg;
    }

    public AdapterMethod baseModel(String nameOrPath) {
        this.baseModel = nameOrPath;
        return this;
    }

    public List<Site> sites() {
        return List.copyOf(sites);
    }

    @Override
    public String name() {
        return "adapter";
    }

    @Override
    public void attach(LlamaModel model) {
        if (this.model != null) throw new IllegalStateException("adapters are already attached to a model");
        for (DecoderLayer layer : model.layers()) {
            if (layer.mlpHook() != null || layer.attentionHook() != null) {
                throw new IllegalStateException("layer " + layer.index() + " already has an adapter; detach it first");
            }
        }
        for (Parameter p : model.parameters()) p.freeze();
        int d = model.config().hiddenSize();
        for (DecoderLayer layer : model.layers()) {
            if (cfg.kind() == AdapterConfig.Kind.HOULSBY) {
                AdapterHook h = newHook(model, layer.index(), "self_attn", d);
                layer.setAttentionHook(h);
            }
            AdapterHook h = newHook(model, layer.index(), "mlp", d);
            layer.setMlpHook(h);
        }
        this.model = model;
    }

    private AdapterHook newHook(LlamaModel model, int layer, String position, int d) {
        int m = cfg.bottleneck();
        String k = PeftFiles.KEY_PREFIX + "model.layers." + layer + "." + position + ".adapter.";
        SplittableRandom rng = new SplittableRandom(Seeds.mix(cfg.seed(), layer, position.hashCode()));
        float[] dv = new float[Math.multiplyExact(m, d)];
        for (int i = 0; i < dv.length; i++) dv[i] = (float) (cfg.initStd() * gaussian(rng));
        Parameter down = new Parameter(k + "down.weight", Tensor.of(dv, m, d));
        Parameter downBias = new Parameter(k + "down.bias", Tensor.zeros(m));
        Parameter up = new Parameter(k + "up.weight", Tensor.zeros(d, m));
        Parameter upBias = new Parameter(k + "up.bias", Tensor.zeros(d));
        AdapterHook hook = new AdapterHook(model.ops(), down, downBias, up, upBias, cfg.activation());
        for (Parameter p : hook.parameters()) p.requireGrad();
        sites.add(new Site(layer, position, hook));
        return hook;
    }

    private static double gaussian(SplittableRandom rng) {
        return Math.sqrt(-2 * Math.log(1 - rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble());
    }

    @Override
    public boolean canDisable() {
        return true;
    }

    @Override
    public void setEnabled(boolean enabled) {
        if (model == null) throw new IllegalStateException("adapters are not attached to a model");
        for (Site s : sites) {
            DecoderLayer layer = model.layers().get(s.layer);
            AdapterHook h = enabled ? s.hook : null;
            if (s.position.equals("mlp")) layer.setMlpHook(h);
            else layer.setAttentionHook(h);
        }
    }

    @Override
    public List<Parameter> trainableParameters() {
        List<Parameter> out = new ArrayList<>();
        for (Site s : sites) out.addAll(s.hook.parameters());
        return out;
    }

    @Override
    public void save(Path dir) {
        if (model == null) throw new IllegalStateException("adapters are not attached to a model");
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (Site s : sites) {
            for (Parameter p : s.hook.parameters()) w.add(p.name(), p.value());
        }
        w.write(dir.resolve(PeftFiles.WEIGHTS));
        ObjectNode c = PeftFiles.object();
        c.put("peft_type", PEFT_TYPE);
        c.put("task_type", "CAUSAL_LM");
        c.put("adapter_type", cfg.kind().name().toLowerCase(java.util.Locale.ROOT));
        c.put("bottleneck_size", cfg.bottleneck());
        c.put("non_linearity", cfg.activation().name().toLowerCase(java.util.Locale.ROOT));
        c.put("hidden_size", model.config().hiddenSize());
        c.put("num_layers", model.config().numLayers());
        c.put("base_model_name_or_path", baseModel);
        c.put("inference_mode", true);
        c.put("format_version", 1);
        PeftFiles.writeJson(dir.resolve(PeftFiles.CONFIG), c);
    }

    /** Reads an adapter directory in the format above, attaches it and freezes it for inference. */
    public static AdapterMethod load(Path dir, LlamaModel model) {
        Path file = dir.resolve(PeftFiles.CONFIG);
        JsonNode c = PeftFiles.readConfig(dir);
        String type = PeftFiles.reqText(file, c, "peft_type");
        if (!type.equals(PEFT_TYPE)) throw new ModelFormatException(file, "peft_type is " + type + ", expected " + PEFT_TYPE);
        AdapterConfig cfg;
        try {
            cfg = new AdapterConfig(AdapterConfig.parseKind(PeftFiles.reqText(file, c, "adapter_type")),
                    PeftFiles.reqInt(file, c, "bottleneck_size"), Activation.parse(PeftFiles.reqText(file, c, "non_linearity")),
                    0f, 0L);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage(), e);
        }
        int hidden = PeftFiles.reqInt(file, c, "hidden_size"), layers = PeftFiles.reqInt(file, c, "num_layers");
        if (hidden != model.config().hiddenSize() || layers != model.config().numLayers()) {
            throw new ModelFormatException(file, "adapters are for hidden_size " + hidden + " and " + layers
                    + " layers, but the model has " + model.config().hiddenSize() + " and " + model.config().numLayers());
        }
        AdapterMethod m = new AdapterMethod(cfg);
        m.baseModel = c.hasNonNull("base_model_name_or_path") ? c.get("base_model_name_or_path").asText() : null;
        m.attach(model);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(PeftFiles.WEIGHTS))) {
            for (Site s : m.sites) for (Parameter p : s.hook.parameters()) LoraMethod.copy(f, p.name(), p);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        for (Parameter p : m.trainableParameters()) p.freeze();
        return m;
    }

    /** Removes the adapters from the model and frees them. */
    @Override
    public void close() {
        if (model != null) {
            for (Site s : sites) {
                DecoderLayer layer = model.layers().get(s.layer);
                if (s.position.equals("mlp") && layer.mlpHook() == s.hook) layer.setMlpHook(null);
                if (s.position.equals("self_attn") && layer.attentionHook() == s.hook) layer.setAttentionHook(null);
            }
        }
        for (Site s : sites) s.hook.close();
        sites.clear();
        model = null;
    }
}
