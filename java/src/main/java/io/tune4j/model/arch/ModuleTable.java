package io.tune4j.model.arch;

import io.tune4j.model.LlamaConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a model as Hugging Face names them, with shapes, in checkpoint order: the one list
 * that loaders, {@code RandomWeights}, the writers and PEFT's key mapping read.
 */
public final class ModuleTable {
    public static final String EMBED_TOKENS = "model.embed_tokens.weight";
    public static final String NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";
    public static final String INPUT_NORM = "input_layernorm";
    /** Llama's MLP input norm; with sandwich norms (Gemma) the norm of the attention output. */
    public static final String POST_ATTENTION_NORM = "post_attention_layernorm";
    public static final String PRE_FFN_NORM = "pre_feedforward_layernorm";
    public static final String POST_FFN_NORM = "post_feedforward_layernorm";

    public static final String Q_NORM = "self_attn.q_norm";
    public static final String K_NORM = "self_attn.k_norm";

    /** What a block's norm normalises. */
    public enum NormRole {
        /** the attention's input */ ATTENTION_INPUT,
        /** the attention's output, before the residual add (sandwich norms) */ ATTENTION_OUTPUT,
        /** the MLP's input */ MLP_INPUT,
        /** the MLP's output, before the residual add (sandwich norms) */ MLP_OUTPUT,
        /** each query head, before RoPE */ QUERY,
        /** each key head, before RoPE */ KEY
    }

    /**
     * The block's norms (module names after "model.layers.{i}."), in checkpoint order, with what each
     * normalises: post_attention_layernorm is Llama's MLP input but, with sandwich norms (Gemma), the
     * attention output's norm, pre_feedforward_layernorm then being the MLP's input.
     */
    public static Map<String, NormRole> layerNormRoles(LlamaConfig c) {
        boolean sandwich = c.features().extras().sandwichNorms();
        Map<String, NormRole> out = new LinkedHashMap<>();
        out.put(INPUT_NORM, NormRole.ATTENTION_INPUT);
        if (c.features().qkNorm()) {
            out.put(Q_NORM, NormRole.QUERY);
            out.put(K_NORM, NormRole.KEY);
        }
        out.put(POST_ATTENTION_NORM, sandwich ? NormRole.ATTENTION_OUTPUT : NormRole.MLP_INPUT);
        if (sandwich) {
            out.put(PRE_FFN_NORM, NormRole.MLP_INPUT);
            out.put(POST_FFN_NORM, NormRole.MLP_OUTPUT);
        }
        return out;
    }

    /** The block's norms (module names after "model.layers.{i}."), in checkpoint order. */
    public static List<String> layerNorms(LlamaConfig c) {
        return List.copyOf(layerNormRoles(c).keySet());
    }

    /** Whether a full module name (e.g. model.layers.3.self_attn.q_norm) is an RMSNorm of some family. */
    public static boolean isNormModule(String module) {
        if (module.equals(NORM.substring(0, NORM.length() - ".weight".length()))) return true;
        for (String n : BLOCK_NORMS) if (module.endsWith("." + n)) return true;
        return false;
    }

    private static final List<String> BLOCK_NORMS =
            List.of(INPUT_NORM, POST_ATTENTION_NORM, PRE_FFN_NORM, POST_FFN_NORM, Q_NORM, K_NORM);

    /** What a tensor is, which decides how it is initialised and whether LoRA can wrap it. */
    public enum Kind { EMBEDDING, LINEAR, BIAS, NORM }

    /**
     * The projections a block can have: module name, parent (self_attn or mlp), and its LoRA site within
     * a layer. A layer has either the seven separate ones or (Phi-3) qkv_proj, o_proj, gate_up_proj and
     * down_proj; {@link #projections} says which. A fused projection takes the site of its first part, so
     * that sites stay unique per layer and the separate projections keep the seeds they always had.
     */
    public enum Proj {
        Q("q_proj", "self_attn", 0), K("k_proj", "self_attn", 1), V("v_proj", "self_attn", 2),
        QKV("qkv_proj", "self_attn", 0), O("o_proj", "self_attn", 3),
        GATE("gate_proj", "mlp", 4), UP("up_proj", "mlp", 5), GATE_UP("gate_up_proj", "mlp", 4), DOWN("down_proj", "mlp", 6);

        /** Distinct LoRA sites per layer. */
        public static final int SITES_PER_LAYER = 7;

        public final String module;
        public final String parent;
        public final int site;

        Proj(String module, String parent, int site) {
            this.module = module;
            this.parent = parent;
            this.site = site;
        }

        /** "self_attn.q_proj" */
        public String path() {
            return parent + "." + module;
        }

        public static Proj of(String module) {
            for (Proj p : values()) if (p.module.equals(module)) return p;
            throw new IllegalArgumentException("unknown module '" + module + "' (expected " + names() + ")");
        }

        /** Every projection name any family has. */
        public static String names() {
            StringBuilder sb = new StringBuilder();
            for (Proj p : values()) sb.append(sb.length() == 0 ? "" : ", ").append(p.module);
            return sb.toString();
        }
    }

    private static final List<Proj> SEPARATE = List.of(Proj.Q, Proj.K, Proj.V, Proj.O, Proj.GATE, Proj.UP, Proj.DOWN);
    private static final List<Proj> FUSED = List.of(Proj.QKV, Proj.O, Proj.GATE_UP, Proj.DOWN);

    /** The projections of one layer of this model, in checkpoint order. */
    public static List<Proj> projections(LlamaConfig c) {
        return projections(c.features());
    }

    public static List<Proj> projections(ArchFeatures f) {
        return f.fused() ? FUSED : SEPARATE;
    }

    /** The attention block's projections (q_proj, k_proj, v_proj, o_proj; Phi-3: qkv_proj, o_proj): LoRA's default targets. */
    public static List<String> attentionProjectionNames(LlamaConfig c) {
        return projections(c).stream().filter(p -> p.parent.equals("self_attn")).map(p -> p.module).toList();
    }

    /** Their module names (q_proj, ... or qkv_proj, ...), as PEFT's target_modules name them. */
    public static List<String> projectionNames(LlamaConfig c) {
        return projections(c).stream().map(p -> p.module).toList();
    }

    /** One tensor of a layer: its name after "model.layers.{i}.", kind and shape. */
    public record Entry(String suffix, Kind kind, long[] shape) {}

    private ModuleTable() {}

    /** "model.layers.{layer}.{suffix}" */
    public static String layer(int layer, String suffix) {
        return "model.layers." + layer + "." + suffix;
    }

    /** [out, in] of a projection. */
    public static long[] shape(LlamaConfig c, Proj p) {
        long d = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), i = c.intermediateSize();
        return switch (p) {
            case Q -> new long[] {q, d};
            case K, V -> new long[] {kv, d};
            case QKV -> new long[] {q + 2 * kv, d};
            case O -> new long[] {d, q};
            case GATE, UP -> new long[] {i, d};
            case GATE_UP -> new long[] {2 * i, d};
            case DOWN -> new long[] {d, i};
        };
    }

    public static boolean hasBias(LlamaConfig c, Proj p) {
        return switch (p) {
            case Q, K, V, QKV -> c.qkvBias();
            case O -> c.oBias();
            default -> c.mlpBias();
        };
    }

    /** Every tensor of one layer (the same for each layer), in checkpoint order. */
    public static List<Entry> layerEntries(LlamaConfig c) {
        List<Entry> out = new ArrayList<>();
        long d = c.hiddenSize(), hd = c.headDim();
        out.add(new Entry("input_layernorm.weight", Kind.NORM, new long[] {d}));
        List<Proj> projs = projections(c);
        for (Proj p : projs) if (p.parent.equals("self_attn")) addProjection(out, c, p);
        if (c.features().qkNorm()) {
            out.add(new Entry(Q_NORM + ".weight", Kind.NORM, new long[] {hd}));
            out.add(new Entry(K_NORM + ".weight", Kind.NORM, new long[] {hd}));
        }
        out.add(new Entry(POST_ATTENTION_NORM + ".weight", Kind.NORM, new long[] {d}));
        if (c.features().extras().sandwichNorms()) out.add(new Entry(PRE_FFN_NORM + ".weight", Kind.NORM, new long[] {d}));
        for (Proj p : projs) if (p.parent.equals("mlp")) addProjection(out, c, p);
        if (c.features().extras().sandwichNorms()) out.add(new Entry(POST_FFN_NORM + ".weight", Kind.NORM, new long[] {d}));
        return out;
    }

    private static void addProjection(List<Entry> out, LlamaConfig c, Proj p) {
        long[] s = shape(c, p);
        out.add(new Entry(p.path() + ".weight", Kind.LINEAR, s));
        if (hasBias(c, p)) out.add(new Entry(p.path() + ".bias", Kind.BIAS, new long[] {s[0]}));
    }

    /** Every tensor of the model by name with its kind, in checkpoint order; lm_head is absent when tied. */
    public static Map<String, Entry> entries(LlamaConfig c) {
        Map<String, Entry> m = new LinkedHashMap<>();
        long d = c.hiddenSize(), v = c.vocabSize();
        m.put(EMBED_TOKENS, new Entry(EMBED_TOKENS, Kind.EMBEDDING, new long[] {v, d}));
        List<Entry> perLayer = layerEntries(c);
        for (int l = 0; l < c.numLayers(); l++) {
            for (Entry e : perLayer) m.put(layer(l, e.suffix()), e);
        }
        m.put(NORM, new Entry(NORM, Kind.NORM, new long[] {d}));
        if (!c.tieWordEmbeddings()) m.put(LM_HEAD, new Entry(LM_HEAD, Kind.LINEAR, new long[] {v, d}));
        return m;
    }

    /** Every tensor's shape by name, in checkpoint order. */
    public static Map<String, long[]> shapes(LlamaConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        entries(c).forEach((k, e) -> m.put(k, e.shape()));
        return m;
    }
}
