package io.tune4j.model.io;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.arch.ModuleTable;
import java.util.Map;

/** Hugging Face tensor names of a Llama checkpoint and their expected shapes. */
public final class LlamaWeights {
    public static final String EMBED_TOKENS = ModuleTable.EMBED_TOKENS;
    public static final String NORM = ModuleTable.NORM;
    public static final String LM_HEAD = ModuleTable.LM_HEAD;

    private LlamaWeights() {}

    /** {@code model.layers.{layer}.{suffix}}, e.g. layer(3, "self_attn.q_proj.weight"). */
    public static String layer(int layer, String suffix) {
        return ModuleTable.layer(layer, suffix);
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
     * layers). lm_head.weight is absent when embeddings are tied; biases and q/k norms appear when the
     * config asks for them. See {@link ModuleTable}.
     */
    public static Map<String, long[]> expectedShapes(LlamaConfig c) {
        return ModuleTable.shapes(c);
    }
}
