package io.tune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.DecoderLayer;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.ops.Activation;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
public final class AdapterMethod extends PeftMethod {
    public static final String PEFT_TYPE = "BOTTLENECK";

    /** An adapter and where it sits: position is "self_attn" or "mlp". */
    public record Site(int layer, String position, AdapterHook hook) {
        public String keyPrefix() {
            return PeftFiles.KEY_PREFIX + "model.layers." + layer + "." + position + ".adapter.";
        }
    }

    /** The registry's entry for bottleneck adapters. */
    public static final class Plugin implements MethodPlugin {
        @Override
        public String name() {
            return "adapter";
        }

        @Override
        public String description() {
            return "bottleneck adapters (Houlsby or Pfeiffer) after the sub-blocks (tune4j's peft_type BOTTLENECK)";
        }

        @Override
        public String peftType() {
            return PEFT_TYPE;
        }

        @Override
        public List<MethodOption> options() {
            AdapterConfig d = AdapterConfig.defaults();
            return List.of(
                    MethodOption.string("adapterKind", d.kind().name().toLowerCase(Locale.ROOT), "adapter_kind",
                            List.of("houlsby", "pfeiffer"), "houlsby (after attention and MLP) or pfeiffer (after the MLP)"),
                    MethodOption.integer("bottleneck", d.bottleneck(), "bottleneck", 1, 1 << 20, "bottleneck width"),
                    MethodOption.string("activation", d.activation().name().toLowerCase(Locale.ROOT), null,
                            null, "the bottleneck's nonlinearity: relu, gelu or silu"));
        }

        @Override
        public FineTuneMethod create(MethodOptions o, Path modelSource, long seed) {
            AdapterConfig d = AdapterConfig.defaults();
            return new AdapterMethod(new AdapterConfig(AdapterConfig.parseKind(o.string("adapterKind")), o.integer("bottleneck"),
                    Activation.parse(o.string("activation")), d.initStd(), seed));
        }

        @Override
        public FineTuneMethod load(Path dir, LlamaModel model) {
            return AdapterMethod.load(dir, model);
        }

        @Override
        public String whyNotMergeable() {
            return "bottleneck adapters cannot be merged into the model: they add a nonlinear block that no Llama weight "
                    + "can express; serve them with --adapter instead";
        }

        @Override
        public double defaultLearningRate() {
            return 1e-3;
        }
    }

    private final AdapterConfig cfg;
    private final List<Site> sites = new ArrayList<>();

    public AdapterMethod(AdapterConfig cfg) {
        super("adapters");
        this.cfg = cfg;
    }

    public AdapterConfig config() {
        return cfg;
    }

    @Override
    public AdapterMethod baseModel(String nameOrPath) {
        super.baseModel(nameOrPath);
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
    protected String peftType() {
        return PEFT_TYPE;
    }

    @Override
    protected void checkAttachable(LlamaModel model) {
        for (DecoderLayer layer : model.layers()) {
            if (layer.mlpHook() != null || layer.attentionHook() != null) {
                throw new IllegalStateException("layer " + layer.index() + " already has an adapter; detach it first");
            }
        }
    }

    @Override
    protected void install(LlamaModel model) {
        int d = model.config().hiddenSize();
        for (DecoderLayer layer : model.layers()) {
            if (cfg.kind() == AdapterConfig.Kind.HOULSBY) {
                AdapterHook h = newHook(model, layer.index(), "self_attn", d);
                layer.setAttentionHook(h);
            }
            AdapterHook h = newHook(model, layer.index(), "mlp", d);
            layer.setMlpHook(h);
        }
    }

    private AdapterHook newHook(LlamaModel model, int layer, String position, int d) {
        int m = cfg.bottleneck();
        String k = PeftFiles.KEY_PREFIX + "model.layers." + layer + "." + position + ".adapter.";
        SplittableRandom rng = new SplittableRandom(Seeds.mix(cfg.seed(), layer, position.hashCode()));
        float[] dv = new float[Math.multiplyExact(m, d)];
        for (int i = 0; i < dv.length; i++) dv[i] = (float) (cfg.initStd() * gaussian(rng));
        Ops ops = model.ops();
        Parameter down = new Parameter(k + "down.weight", ops.tensor(dv, m, d));
        Parameter downBias = new Parameter(k + "down.bias", ops.zeros(m));
        Parameter up = new Parameter(k + "up.weight", ops.zeros(d, m));
        Parameter upBias = new Parameter(k + "up.bias", ops.zeros(d));
        AdapterHook hook = new AdapterHook(model.ops(), down, downBias, up, upBias, cfg.activation());
        for (Parameter p : hook.parameters()) p.requireGrad(ops);
        sites.add(new Site(layer, position, hook));
        return hook;
    }

    private static double gaussian(SplittableRandom rng) {
        return Math.sqrt(-2 * Math.log(1 - rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble());
    }

    @Override
    protected void enable(boolean enabled) {
        for (Site s : sites) {
            DecoderLayer layer = model().layers().get(s.layer);
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
    protected void writeWeights(SafetensorsWriter w) {
        for (Site s : sites) {
            for (Parameter p : s.hook.parameters()) w.add(p.name(), p.value());
        }
    }

    @Override
    protected void writeConfig(ObjectNode c) {
        c.put("adapter_type", cfg.kind().name().toLowerCase(java.util.Locale.ROOT));
        c.put("bottleneck_size", cfg.bottleneck());
        c.put("non_linearity", cfg.activation().name().toLowerCase(java.util.Locale.ROOT));
        c.put("hidden_size", model().config().hiddenSize());
        c.put("num_layers", model().config().numLayers());
        c.put("format_version", 1);
    }

    /** Reads an adapter directory in the format above, attaches it and freezes it for inference. */
    public static AdapterMethod load(Path dir, LlamaModel model) {
        Path file = dir.resolve(PeftFiles.CONFIG);
        JsonNode c = readConfig(dir, PEFT_TYPE);
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
        return attachSaved(m, dir, c, model, f -> {
            for (Site s : m.sites) for (Parameter p : s.hook.parameters()) LoraMethod.copy(model.ops(), f, p.name(), p);
        });
    }

    /** Removes the adapters from the model and frees them. */
    @Override
    protected void release(LlamaModel model) {
        if (model != null) {
            for (Site s : sites) {
                DecoderLayer layer = model.layers().get(s.layer);
                if (s.position.equals("mlp") && layer.mlpHook() == s.hook) layer.setMlpHook(null);
                if (s.position.equals("self_attn") && layer.attentionHook() == s.hook) layer.setAttentionHook(null);
            }
        }
        for (Site s : sites) s.hook.close();
        sites.clear();
    }
}
