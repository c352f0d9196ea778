package io.tune4j.model.io;

import io.tune4j.model.LlamaConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/** Hugging Face tensor names of a Llama checkpoint and their expected shapes. */
public final class LlamaWeights {
    public static final String EMBED_TOKENS = "model.embed_tokens.weight";
    public static final String NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private LlamaWeights() {}

    /** {@code model.layers.{layer}.{suffix}}, e.g. layer(3, "self_attn.q_proj.weight"). */
    public static String layer(int layer, String suffix) {
        return "model.layers." + layer + "." + suffix;
    }

    public static String q(int l) { return layer(l, "self_attn.q_proj.weight"); }
    public static String k(int l) { return layer(l, "self_attn.k_proj.weight"); }
    public static String v(int l) { return layer(l, "self_attn.v_proj.weight"); }
    public static String o(int l) { return layer(l, "self_attn.o_proj.weight"); }
    public static String gate(int l) { return layer(l, "mlp.gate_proj.weight"); }
    public static String up(int l) { return layer(l, "mlp.up_proj.weight"); }
    public static String down(int l) { return layer(l, "mlp.down_proj.weight"); }
    public static String inputNorm(int l) { return layer(l, "input_layernorm.weight"); }
    public static String postAttentionNorm(int l) { return layer(l, "post_attention_layernorm.weight"); }

    /**
     * Every tensor the model needs, in checkpoint order, with its shape ([out, in] for linear
     * layers). lm_head.weight is absent when embeddings are tied; biases appear when the config
     * asks for them.
     */
    public static Map<String, long[]> expectedShapes(LlamaConfig c) {
        long d = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), i = c.intermediateSize(), v = c.vocabSize();
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put(EMBED_TOKENS, new long[] {v, d});
        for (int l = 0; l < c.numLayers(); l++) {
            m.put(inputNorm(l), new long[] {d});
            m.put(q(l), new long[] {q, d});
            m.put(k(l), new long[] {kv, d});
            m.put(v(l), new long[] {kv, d});
            m.put(o(l), new long[] {d, q});
            if (c.attentionBias()) {
                m.put(layer(l, "self_attn.q_proj.bias"), new long[] {q});
                m.put(layer(l, "self_attn.k_proj.bias"), new long[] {kv});
                m.put(layer(l, "self_attn.v_proj.bias"), new long[] {kv});
                m.put(layer(l, "self_attn.o_proj.bias"), new long[] {d});
            }
            m.put(postAttentionNorm(l), new long[] {d});
            m.put(gate(l), new long[] {i, d});
            m.put(up(l), new long[] {i, d});
            m.put(down(l), new long[] {d, i});
            if (c.mlpBias()) {
                m.put(layer(l, "mlp.gate_proj.bias"), new long[] {i});
                m.put(layer(l, "mlp.up_proj.bias"), new long[] {i});
                m.put(layer(l, "mlp.down_proj.bias"), new long[] {d});
            }
        }
        m.put(NORM, new long[] {d});
        if (!c.tieWordEmbeddings()) m.put(LM_HEAD, new long[] {v, d});
        return m;
    }
}
