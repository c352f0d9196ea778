package io.tune4j.export;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.arch.BlockExtras;
import io.tune4j.ops.RopeScaling;
import java.util.List;

/**
 * The llama.cpp architecture a tune4j model family is written as, and the checks that keep the
 * exporter from writing a file that the llama.cpp build tune4j is tested against (java-llama.cpp
 * 4.2.0, llama.cpp build 4916) would refuse, crash on, or run differently from tune4j.
 *
 * <p>What that build hard-codes, and so what a model has to match:
 * <ul>
 *   <li>qwen2: q/k/v biases and no o_proj bias; q_proj is hidden_size × hidden_size (no head_dim of its
 *       own); no sliding window (the graph has none) and no rope_freqs (Llama 3.1 scaling).</li>
 *   <li>gemma2: the layer count picks a model size, and any count but 26, 42 or 46 aborts the process
 *       when the graph is built; queries are scaled by head_dim^-1/2 whatever query_pre_attn_scalar
 *       says; both soft-caps are always applied; even layers slide.</li>
 *   <li>gemma3: every sixth layer is global, the others slide; the sliding layers' RoPE base is
 *       10000; the query scale is head_dim^-1/2, or (hidden_size / heads)^-1/2 for 62 layers; no soft-caps.</li>
 *   <li>gemma2/gemma3 read the LM head from token_embd only, so the head must be tied.</li>
 *   <li>qwen3 is not an architecture of that build at all.</li>
 * </ul>
 */
public enum GgufFamily {
    LLAMA("llama", true),
    QWEN2("qwen2", false),
    GEMMA2("gemma2", false),
    GEMMA3("gemma3", false);

    /** general.architecture, and the prefix of the architecture's keys. */
    public final String arch;
    /**
     * llama.cpp rotates this architecture's q/k in interleaved pairs (Meta's layout), so Hugging Face's
     * rotate-half rows are reordered; the others are NEOX-style and take Hugging Face's rows as they are.
     */
    public final boolean interleavedRope;

    GgufFamily(String arch, boolean interleavedRope) {
        this.arch = arch;
        this.interleavedRope = interleavedRope;
    }

    /** llama.cpp 4916's gemma3 RoPE base of the sliding-window layers. */
    static final float GEMMA3_LOCAL_ROPE_THETA = 10000f;
    /** llama.cpp 4916's gemma3 layer pattern: layer l slides unless l % 6 == 5. */
    static final int GEMMA3_SWA_PATTERN = 6;
    /** The gemma2 layer counts llama.cpp 4916 knows a model size (and so a query scale) for. */
    static final List<Integer> GEMMA2_LAYER_COUNTS = List.of(26, 42, 46);

    public boolean isGemma() {
        return this == GEMMA2 || this == GEMMA3;
    }

    /**
     * The family of a model that llama.cpp 4916 can run as tune4j does, or an IllegalArgumentException
     * naming the model (source) and the config.json field that rules it out.
     */
    public static GgufFamily of(LlamaConfig c, String source) {
        String type = c.modelType();
        GgufFamily f = switch (type) {
            case "llama", "mistral" -> LLAMA;
            case "qwen2" -> QWEN2;
            case "gemma2" -> GEMMA2;
            case "gemma3_text" -> GEMMA3;
            case "qwen3" -> throw new IllegalArgumentException(source + ": model_type 'qwen3' cannot be exported to "
                    + "GGUF: the llama.cpp tune4j checks against (build 4916) has no qwen3 architecture");
            default -> throw new IllegalArgumentException(source + ": model_type '" + type + "' cannot be exported to "
                    + "GGUF; supported: llama, mistral (without a sliding window), qwen2, gemma2, gemma3_text");
        };
        f.check(c, source);
        return f;
    }

    private void check(LlamaConfig c, String source) {
        String type = c.modelType();
        BlockExtras x = c.features().extras();
        String act = isGemma() ? LlamaConfig.GELU_TANH : "silu";
        if (!act.equals(c.hiddenAct())) {
            throw refuse(source, type, "hidden_act", c.hiddenAct(), "llama.cpp's " + arch + " architecture uses " + act);
        }
        if (c.rope().type() == RopeScaling.Type.LLAMA3 && this != LLAMA) {
            throw refuse(source, type, "rope_scaling", "llama3", "llama.cpp's " + arch + " graph applies no rope_freqs; "
                    + "only linear scaling carries over");
        }
        if (this != LLAMA && c.mlpBias()) {
            throw refuse(source, type, "mlp_bias", "true", "llama.cpp's " + arch + " architecture has no MLP biases");
        }
        switch (this) {
            case LLAMA -> {
                if (c.features().slidingWindow() > 0) {
                    throw refuse(source, type, "sliding_window", Integer.toString(c.features().slidingWindow()),
                            "llama.cpp's llama architecture has no sliding-window attention");
                }
            }
            case QWEN2 -> {
                if (c.features().slidingWindow() > 0) {
                    throw refuse(source, type, "use_sliding_window", "true (sliding_window "
                            + c.features().slidingWindow() + " on " + c.features().slidingLayers().size() + " layers)",
                            "llama.cpp's qwen2 graph has no sliding-window attention");
                }
                if (c.attentionBias()) {
                    throw refuse(source, type, "attention_bias", "true", "llama.cpp's qwen2 architecture has no o_proj bias");
                }
                if (c.qDim() != c.hiddenSize()) {
                    throw refuse(source, type, "head_dim", Integer.toString(c.headDim()), "llama.cpp 4916's qwen2 "
                            + "wants head_dim × num_attention_heads = hidden_size (" + c.hiddenSize() + ")");
                }
            }
            case GEMMA2 -> {
                checkGemma(c, source);
                if (!GEMMA2_LAYER_COUNTS.contains(c.numLayers())) {
                    throw refuse(source, type, "num_hidden_layers", Integer.toString(c.numLayers()), "llama.cpp 4916 "
                            + "runs gemma2 with 26, 42 or 46 layers only (other counts abort it)");
                }
                requireScalar(c, source, c.headDim(), "head_dim");
                if (x.attnSoftcap() == 0 || x.finalSoftcap() == 0) {
                    throw refuse(source, type, x.attnSoftcap() == 0 ? "attn_logit_softcapping" : "final_logit_softcapping",
                            "null", "llama.cpp's gemma2 always soft-caps attention scores and logits");
                }
                for (int l = 0; l < c.numLayers(); l++) {
                    if ((c.features().windowOf(l) > 0) != (l % 2 == 0)) {
                        throw refuse(source, type, "layer_types", "layer " + l + (l % 2 == 0 ? " full" : " sliding"),
                                "llama.cpp's gemma2 slides on the even layers and on no other");
                    }
                }
            }
            case GEMMA3 -> {
                checkGemma(c, source);
                // llama.cpp sizes a 62-layer gemma3 as the 27B model and scales queries by hidden / heads there
                int scaleDim = c.numLayers() == 62 ? c.hiddenSize() / c.numHeads() : c.headDim();
                requireScalar(c, source, scaleDim, c.numLayers() == 62 ? "hidden_size / num_attention_heads" : "head_dim");
                if (x.attnSoftcap() != 0 || x.finalSoftcap() != 0) {
                    throw refuse(source, type, x.attnSoftcap() != 0 ? "attn_logit_softcapping" : "final_logit_softcapping",
                            Float.toString(x.attnSoftcap() != 0 ? x.attnSoftcap() : x.finalSoftcap()),
                            "llama.cpp's gemma3 soft-caps neither attention scores nor logits");
                }
                if (x.localRopeTheta() != GEMMA3_LOCAL_ROPE_THETA) {
                    throw refuse(source, type, "rope_local_base_freq", Float.toString(x.localRopeTheta()),
                            "llama.cpp 4916's gemma3 uses 10000 on the sliding-window layers");
                }
                for (int l = 0; l < c.numLayers(); l++) {
                    boolean slides = l % GEMMA3_SWA_PATTERN < GEMMA3_SWA_PATTERN - 1;
                    if ((c.features().windowOf(l) > 0) != slides) {
                        throw refuse(source, type, "layer_types", "layer " + l + (slides ? " full" : " sliding"),
                                "llama.cpp 4916's gemma3 makes every sixth layer (5, 11, ...) global and slides on the others");
                    }
                }
            }
        }
    }

    private void checkGemma(LlamaConfig c, String source) {
        if (!c.tieWordEmbeddings()) {
            throw refuse(source, c.modelType(), "tie_word_embeddings", "false",
                    "llama.cpp's " + arch + " reads the LM head from the token embeddings");
        }
        if (c.qkvBias() || c.oBias()) {
            throw refuse(source, c.modelType(), "attention_bias", "true", "llama.cpp's " + arch + " has no attention biases");
        }
    }

    private static void requireScalar(LlamaConfig c, String source, int dim, String what) {
        float s = c.features().extras().queryPreAttnScalar();
        if (s != dim) {
            throw refuse(source, c.modelType(), "query_pre_attn_scalar", Float.toString(s), "llama.cpp 4916's "
                    + c.modelType() + " scales queries by " + what + " (" + dim + ")^-1/2 and has no key for another scale");
        }
    }

    private static IllegalArgumentException refuse(String source, String type, String field, String value, String why) {
        return new IllegalArgumentException(source + ": model_type '" + type + "' with " + field + " " + value
                + " cannot be exported to GGUF: " + why);
    }
}
