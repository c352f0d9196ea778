package io.tune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.DecoderLayer;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Prefix tuning (Li &amp; Liang 2021) as PEFT does it: every layer attends to n extra keys/values,
 * given as a past_key_values cache, so they carry no RoPE and the real tokens sit at positions
 * n, n+1, ... Without projection the per-layer keys/values are the parameters (initialised
 * N(0, 1) as PEFT's embedding); with {@code prefixProjection} they are computed before every forward
 * by PEFT's MLP and backpropagated into it after every backward.
 *
 * <p>Saved as PEFT writes it: adapter_config.json (peft_type PREFIX_TUNING) and
 * adapter_model.safetensors with {@code prompt_embeddings} [n, layers*2*kvDim], per virtual token
 * per layer the key then the value, each [kvHeads*headDim]; with projection, the MLP's output.
 * As PEFT does for grouped-query models, token_dim is kvDim and num_attention_heads the KV heads.
 */
public final class PrefixMethod extends PeftMethod {
    public static final String KEY = "prompt_embeddings";
    public static final String PEFT_TYPE = "PREFIX_TUNING";

    /** The registry's entry for prefix tuning. */
    public static final class Plugin implements MethodPlugin {
        @Override
        public String name() {
            return "prefix";
        }

        @Override
        public String description() {
            return "prefix tuning: trainable keys/values every layer attends to (PEFT peft_type PREFIX_TUNING)";
        }

        @Override
        public String peftType() {
            return PEFT_TYPE;
        }

        @Override
        public List<MethodOption> options() {
            PrefixConfig d = PrefixConfig.defaults();
            return List.of(
                    MethodOption.integer("virtualTokens", d.numVirtualTokens(), "virtual_tokens", 1, 4096, "num_virtual_tokens"),
                    MethodOption.bool("prefixProjection", d.prefixProjection(), "prefix_projection",
                            "reparameterise the prefix through PEFT's MLP"),
                    MethodOption.integer("prefixHidden", d.encoderHiddenSize(), null, 0, 1 << 20,
                            "encoder_hidden_size of that MLP"));
        }

        @Override
        public FineTuneMethod create(MethodOptions o, Path modelSource, long seed) {
            return new PrefixMethod(new PrefixConfig(o.integer("virtualTokens"), o.bool("prefixProjection"),
                    o.integer("prefixHidden"), seed));
        }

        @Override
        public FineTuneMethod load(Path dir, LlamaModel model) {
            return PrefixMethod.load(dir, model);
        }

        @Override
        public String whyNotMergeable() {
            return "a prefix-tuning adapter cannot be merged into the model: its virtual keys/values are not weights of "
                    + "the base architecture; serve it with --adapter instead";
        }

        @Override
        public double defaultLearningRate() {
            return 1e-2;
        }
    }

    private final PrefixConfig cfg;
    private Arena arena;  // the model's backend, from install on
    private final List<Parameter> keys = new ArrayList<>();
    private final List<Parameter> values = new ArrayList<>();
    private int n, L, kvDim, width;
    // reparameterisation MLP and its buffers (null without projection)
    private Parameter emb, w1, b1, w2, b2;
    private Tensor hid, act, out, dOut, dAct, dHid;
    private Tensor savedPrompt;

    public PrefixMethod(PrefixConfig cfg) {
        super("prefix");
        this.cfg = cfg;
    }

    public PrefixConfig config() {
        return cfg;
    }

    @Override
    public PrefixMethod baseModel(String nameOrPath) {
        super.baseModel(nameOrPath);
        return this;
    }

    @Override
    protected String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public String name() {
        return "prefix";
    }

    @Override
    protected void checkAttachable(LlamaModel model) {
        for (DecoderLayer layer : model.layers()) {
            if (layer.prefixLength() != 0) throw new IllegalStateException("layer " + layer.index() + " already has a prefix");
        }
    }

    @Override
    protected void install(LlamaModel model) {
        LlamaConfig mc = model.config();
        Ops ops = model.ops();
        arena = new Arena(ops);
        n = cfg.numVirtualTokens();
        L = mc.numLayers();
        kvDim = mc.kvDim();
        width = 2 * L * kvDim;
        SplittableRandom rng = new SplittableRandom(cfg.seed());
        for (DecoderLayer layer : model.layers()) {
            Parameter k = new Parameter("prefix.layers." + layer.index() + ".keys", arena.f32(n, kvDim));
            Parameter v = new Parameter("prefix.layers." + layer.index() + ".values", arena.f32(n, kvDim));
            keys.add(k);
            values.add(v);
            if (!cfg.prefixProjection()) {
                fillNormal(ops, k.value(), rng);
                fillNormal(ops, v.value(), rng);
            }
            k.requireGrad(ops); // the attention backward deposits into these in either mode
            v.requireGrad(ops);
        }
        if (cfg.prefixProjection()) {
            int H = cfg.encoderHiddenSize();
            emb = new Parameter("prefix_encoder.embedding.weight", arena.f32(n, kvDim));
            fillNormal(ops, emb.value(), rng);
            // torch.nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
            w1 = uniform("prefix_encoder.transform.0.weight", rng, kvDim, H, kvDim);
            b1 = uniform("prefix_encoder.transform.0.bias", rng, kvDim, H);
            w2 = uniform("prefix_encoder.transform.2.weight", rng, H, width, H);
            b2 = uniform("prefix_encoder.transform.2.bias", rng, H, width);
            for (Parameter p : List.of(emb, w1, b1, w2, b2)) p.requireGrad(ops);
            hid = arena.f32(n, H);
            act = arena.f32(n, H);
            out = arena.f32(n, width);
            dOut = arena.f32(n, width);
            dAct = arena.f32(n, H);
            dHid = arena.f32(n, H);
        }
        for (int l = 0; l < L; l++) model.layers().get(l).setPrefix(keys.get(l), values.get(l));
        beforeForward();
    }

    private static void fillNormal(Ops ops, Tensor t, SplittableRandom rng) {
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (Math.sqrt(-2 * Math.log(1 - rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble()));
        }
        ops.write(t, v);
    }

    private Parameter uniform(String name, SplittableRandom rng, int fanIn, long... shape) {
        Tensor t = arena.f32(shape);
        float[] v = new float[Math.toIntExact(t.numel())];
        double bound = 1 / Math.sqrt(fanIn);
        for (int i = 0; i < v.length; i++) v[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
        model().ops().write(t, v);
        return new Parameter(name, t);
    }

    /** The per-layer keys [n, kvDim] (the trainable ones without projection). */
    public List<Parameter> prefixKeys() {
        return List.copyOf(keys);
    }

    public List<Parameter> prefixValues() {
        return List.copyOf(values);
    }

    @Override
    protected void enable(boolean enabled) {
        for (int l = 0; l < L; l++) {
            model().layers().get(l).setPrefix(enabled ? keys.get(l) : null, enabled ? values.get(l) : null);
        }
    }

    @Override
    public List<Parameter> trainableParameters() {
        if (cfg.prefixProjection()) return List.of(emb, w1, b1, w2, b2);
        List<Parameter> p = new ArrayList<>();
        for (int l = 0; l < L; l++) {
            p.add(keys.get(l));
            p.add(values.get(l));
        }
        return p;
    }

    /** With projection: prompt = MLP(embedding), spread into every layer's keys and values. */
    @Override
    public void beforeForward() {
        if (emb == null) return;
        Ops ops = model().ops();
        ops.linearForward(hid, emb.value(), w1.value(), b1.value());
        ops.tanhForward(act, hid);
        ops.linearForward(out, act, w2.value(), b2.value());
        scatter(out);
    }

    /** With projection: gathers the keys'/values' gradients and backpropagates them through the MLP. */
    @Override
    public void afterBackward() {
        if (emb == null) return;
        Ops ops = model().ops();
        Tensor rows = dOut.view((long) n * 2 * L, kvDim);
        for (int i = 0; i < n; i++) {
            for (int l = 0; l < L; l++) {
                int r = (i * L + l) * 2;
                ops.copy(rows.slice(r, r + 1), keys.get(l).grad().slice(i, i + 1));
                ops.copy(rows.slice(r + 1, r + 2), values.get(l).grad().slice(i, i + 1));
            }
        }
        // consumed: the next backward must not see this step's gradient again
        for (int l = 0; l < L; l++) {
            keys.get(l).zeroGrad();
            values.get(l).zeroGrad();
        }
        ops.fill(dAct, 0f);
        ops.linearBackward(dAct, w2.grad(), b2.grad(), dOut, act, w2.value());
        ops.fill(dHid, 0f);
        ops.tanhBackward(dHid, dAct, act);
        ops.linearBackward(emb.grad(), w1.grad(), b1.grad(), dHid, emb.value(), w1.value());
    }

    // prompt [n, 2*L*kvDim] -> per layer keys/values [n, kvDim]
    private void scatter(Tensor prompt) {
        Ops ops = model().ops();
        Tensor rows = prompt.view((long) n * 2 * L, kvDim);
        for (int i = 0; i < n; i++) {
            for (int l = 0; l < L; l++) {
                int r = (i * L + l) * 2;
                ops.copy(keys.get(l).value().slice(i, i + 1), rows.slice(r, r + 1));
                ops.copy(values.get(l).value().slice(i, i + 1), rows.slice(r + 1, r + 2));
            }
        }
    }

    private void gather(Tensor prompt) {
        Ops ops = model().ops();
        Tensor rows = prompt.view((long) n * 2 * L, kvDim);
        for (int i = 0; i < n; i++) {
            for (int l = 0; l < L; l++) {
                int r = (i * L + l) * 2;
                ops.copy(rows.slice(r, r + 1), keys.get(l).value().slice(i, i + 1));
                ops.copy(rows.slice(r + 1, r + 2), values.get(l).value().slice(i, i + 1));
            }
        }
    }

    @Override
    protected void writeWeights(SafetensorsWriter w) {
        // one host buffer for every save: checkpoints save often, and the writer reads it before save returns
        if (savedPrompt == null) savedPrompt = Tensor.allocate(io.tune4j.tensor.DType.F32, n, width);
        beforeForward(); // with projection, the keys/values reflect the current MLP weights
        gather(savedPrompt);
        w.add(KEY, savedPrompt);
    }

    @Override
    protected void writeConfig(ObjectNode c) {
        LlamaConfig mc = model().config();
        c.put("num_virtual_tokens", n);
        c.put("token_dim", kvDim);
        c.put("num_layers", L);
        c.put("num_attention_heads", mc.numKvHeads());
        c.put("num_transformer_submodules", 1);
        c.put("prefix_projection", cfg.prefixProjection());
        c.put("encoder_hidden_size", cfg.prefixProjection() ? cfg.encoderHiddenSize() : mc.hiddenSize());
    }

    /**
     * Reads a PEFT prefix-tuning directory and attaches its keys/values for inference. With
     * prefix_projection PEFT saves the MLP's output, so loading never needs the MLP.
     */
    public static PrefixMethod load(Path dir, LlamaModel model) {
        Path file = dir.resolve(PeftFiles.CONFIG);
        JsonNode c = readConfig(dir, PEFT_TYPE);
        LlamaConfig mc = model.config();
        int n = PeftFiles.reqInt(file, c, "num_virtual_tokens");
        int layers = PeftFiles.reqInt(file, c, "num_layers");
        int tokenDim = PeftFiles.reqInt(file, c, "token_dim");
        if (layers != mc.numLayers()) {
            throw new ModelFormatException(file, "num_layers is " + layers + " but the model has " + mc.numLayers());
        }
        if (tokenDim != mc.kvDim()) {
            throw new ModelFormatException(file, "token_dim is " + tokenDim + " but the model's keys/values are "
                    + mc.kvDim() + " wide (num_key_value_heads * head_dim)");
        }
        int subs = c.hasNonNull("num_transformer_submodules") ? PeftFiles.reqInt(file, c, "num_transformer_submodules") : 1;
        if (subs != 1) throw new ModelFormatException(file, "num_transformer_submodules is " + subs + ", expected 1 (decoder-only)");
        PrefixConfig cfg;
        try {
            cfg = new PrefixConfig(n, false, 0, 0L);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage(), e);
        }
        PrefixMethod m = new PrefixMethod(cfg);
        return attachSaved(m, dir, c, model, f -> {
            if (!f.contains(KEY)) throw new ModelFormatException(f.path(), "tensor '" + KEY + "' is missing");
            Tensor src = f.tensor(KEY);
            long[] want = {n, 2L * layers * tokenDim};
            if (!Arrays.equals(src.shape(), want)) {
                throw new ModelFormatException(f.path(), "tensor '" + KEY + "' has shape " + Arrays.toString(src.shape())
                        + ", expected " + Arrays.toString(want));
            }
            m.scatter(src);
        });
    }

    /** Removes the prefix from the model and frees it. */
    @Override
    protected void release(LlamaModel model) {
        if (model != null) {
            for (int l = 0; l < L; l++) {
                DecoderLayer layer = model.layers().get(l);
                if (layer.prefixLength() > 0) layer.setPrefix(null, null);
            }
        }
        for (Parameter p : keys) p.close();
        for (Parameter p : values) p.close();
        if (emb != null) for (Parameter p : List.of(emb, w1, b1, w2, b2)) p.close();
        keys.clear();
        values.clear();
        if (savedPrompt != null) savedPrompt.close();
        savedPrompt = null;
        if (arena != null) arena.close();
    }
}
