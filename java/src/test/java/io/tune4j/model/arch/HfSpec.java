package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a config.json means, read the way transformers' configuration and modeling files read it
 * (configuration_llama/mistral/qwen2/qwen3/gemma2/gemma3/phi3 and their attention modules), with their
 * defaults. The reference decoder uses this instead of tune4j's own config reader, so that a config key
 * tune4j reads wrongly shows as a mismatch rather than being shared by both sides.
 */
record HfSpec(String type, int vocab, int hidden, int inter, int layers, int heads, int kvHeads, int headDim,
              double eps, double theta, double localTheta, double[] invFreqScale, boolean tie, boolean qkvBias,
              boolean oBias, boolean qkNorm, boolean gemma, boolean gemma3, boolean gelu, double attnScale,
              double attnCap, double finalCap, int[] window, boolean fused) {

    static HfSpec of(JsonNode c) {
        String type = c.get("model_type").asText();
        boolean gemma = type.equals("gemma2") || type.equals("gemma3_text");
        boolean gemma3 = type.equals("gemma3_text");
        int d = c.get("hidden_size").asInt(), nh = c.get("num_attention_heads").asInt();
        int L = c.get("num_hidden_layers").asInt();
        // a missing key takes the config class's default (transformers' configuration_mistral.py: 8,
        // configuration_qwen2.py and configuration_qwen3.py: 32, configuration_gemma2.py and Gemma3TextConfig: 4);
        // null means one per query head
        int nkvDefault = switch (type) {
            case "mistral" -> 8;
            case "qwen2", "qwen3" -> 32;
            case "gemma2", "gemma3_text" -> 4;
            default -> nh;
        };
        int nkv = c.has("num_key_value_heads") ? num(c, "num_key_value_heads", nh) : nkvDefault;
        int hdDefault = gemma ? 256 : type.equals("qwen3") ? 128 : d / nh;
        int hd = num(c, "head_dim", hdDefault);
        boolean tie = c.has("tie_word_embeddings") ? c.get("tie_word_embeddings").asBoolean() : gemma;
        boolean attentionBias = c.path("attention_bias").asBoolean(false);
        boolean qkvBias = type.equals("qwen2") || (!type.equals("phi3") && !type.equals("mistral") && attentionBias);
        boolean oBias = !type.equals("qwen2") && !type.equals("phi3") && !type.equals("mistral") && attentionBias;
        String act = gemma ? c.path("hidden_activation").asText("gelu_pytorch_tanh") : c.path("hidden_act").asText("silu");
        if (!act.equals("silu") && !act.equals("gelu_pytorch_tanh")) throw new IllegalArgumentException("activation " + act);
        double theta = c.path("rope_theta").asDouble(gemma3 ? 1_000_000.0 : 10_000.0);
        double localTheta = gemma3 ? c.path("rope_local_base_freq").asDouble(10_000.0) : 0;
        double scalar = gemma ? c.path("query_pre_attn_scalar").asDouble(256) : hd;
        double attnCap = type.equals("gemma2") ? cap(c, "attn_logit_softcapping", 50.0)
                : gemma3 ? cap(c, "attn_logit_softcapping", 0) : 0;
        double finalCap = type.equals("gemma2") ? cap(c, "final_logit_softcapping", 30.0)
                : gemma3 ? cap(c, "final_logit_softcapping", 0) : 0;
        return new HfSpec(type, c.get("vocab_size").asInt(), d, c.get("intermediate_size").asInt(), L, nh, nkv, hd,
                c.get("rms_norm_eps").asDouble(), theta, localTheta, ropeScale(c, hd, theta), tie, qkvBias, oBias,
                type.equals("qwen3") || gemma3, gemma, gemma3, act.startsWith("gelu"), Math.pow(scalar, -0.5),
                attnCap, finalCap, windows(c, type, L), type.equals("phi3"));
    }

    private static int num(JsonNode c, String key, int dflt) {
        JsonNode n = c.get(key);
        return n == null || n.isNull() ? dflt : n.asInt();
    }

    private static double cap(JsonNode c, String key, double dflt) {
        JsonNode n = c.get(key);
        if (n == null) return dflt;
        return n.isNull() ? 0 : n.asDouble();
    }

    /** Each layer's sliding window (keys a query sees, itself included), 0 for full attention. */
    private static int[] windows(JsonNode c, String type, int L) {
        int[] w = new int[L];
        JsonNode sw = c.get("sliding_window");
        switch (type) {
            case "llama":
                return w;
            case "mistral":
            case "phi3": {
                // every layer: MistralConfig defaults to 4096, Phi3Config to None
                int win = sw == null ? (type.equals("mistral") ? 4096 : 0) : sw.isNull() ? 0 : sw.asInt();
                java.util.Arrays.fill(w, win);
                return w;
            }
            case "qwen2":
            case "qwen3": {
                // sliding_window counts only with use_sliding_window; layer_types defaults to the layers
                // from max_window_layers on, and a sliding layer without a window attends fully
                boolean use = c.path("use_sliding_window").asBoolean(false);
                int win = !use ? 0 : sw == null ? 4096 : sw.isNull() ? 0 : sw.asInt();
                int from = c.path("max_window_layers").asInt(28);
                for (int l = 0; l < L; l++) {
                    boolean sliding = c.has("layer_types") ? c.get("layer_types").get(l).asText().equals("sliding_attention")
                            : win > 0 && l >= from;
                    w[l] = sliding ? win : 0;
                }
                return w;
            }
            case "gemma2":
            case "gemma3_text": {
                int win = sw == null || sw.isNull() ? 4096 : sw.asInt();
                int pattern = type.equals("gemma2") ? 2 : c.path("sliding_window_pattern").asInt(6);
                for (int l = 0; l < L; l++) {
                    boolean sliding = c.has("layer_types") ? c.get("layer_types").get(l).asText().equals("sliding_attention")
                            : (l + 1) % pattern != 0;
                    w[l] = sliding ? win : 0;
                }
                return w;
            }
            default:
                throw new IllegalArgumentException("model_type " + type);
        }
    }

    /**
     * Per-frequency divisor of the inverse frequencies theta^(-2i/hd), from rope_scaling: "linear" divides
     * all by factor; "llama3" (modeling_rope_utils) divides the long wavelengths by factor, keeps the short
     * ones and interpolates between.
     */
    private static double[] ropeScale(JsonNode c, int hd, double theta) {
        double[] s = new double[hd / 2];
        java.util.Arrays.fill(s, 1.0);
        JsonNode r = c.get("rope_scaling");
        if (r == null || r.isNull()) return s;
        String kind = r.has("rope_type") ? r.get("rope_type").asText() : r.path("type").asText("default");
        double factor = r.path("factor").asDouble(1.0);
        for (int i = 0; i < hd / 2; i++) {
            double inv = Math.pow(theta, -2.0 * i / hd);
            switch (kind) {
                case "default":
                    break;
                case "linear":
                    s[i] = factor;
                    break;
                case "llama3": {
                    double low = r.get("low_freq_factor").asDouble(), high = r.get("high_freq_factor").asDouble();
                    double old = r.get("original_max_position_embeddings").asDouble();
                    double wavelen = 2 * Math.PI / inv;
                    double scaled;
                    if (wavelen < old / high) scaled = inv;
                    else if (wavelen > old / low) scaled = inv / factor;
                    else {
                        double smooth = (old / wavelen - low) / (high - low);
                        scaled = (1 - smooth) * inv / factor + smooth * inv;
                    }
                    s[i] = inv / scaled;
                    break;
                }
                default:
                    throw new IllegalArgumentException("rope_scaling " + kind);
            }
        }
        return s;
    }

    /** Every weight a Hugging Face checkpoint of this config holds, with its shape. */
    Map<String, long[]> weightShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        long q = (long) heads * headDim, kv = (long) kvHeads * headDim;
        m.put("model.embed_tokens.weight", new long[] {vocab, hidden});
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            m.put(p + "input_layernorm.weight", new long[] {hidden});
            m.put(p + "post_attention_layernorm.weight", new long[] {hidden});
            if (gemma) {
                m.put(p + "pre_feedforward_layernorm.weight", new long[] {hidden});
                m.put(p + "post_feedforward_layernorm.weight", new long[] {hidden});
            }
            if (fused) {
                m.put(p + "self_attn.qkv_proj.weight", new long[] {q + 2 * kv, hidden});
            } else {
                m.put(p + "self_attn.q_proj.weight", new long[] {q, hidden});
                m.put(p + "self_attn.k_proj.weight", new long[] {kv, hidden});
                m.put(p + "self_attn.v_proj.weight", new long[] {kv, hidden});
                if (qkvBias) {
                    m.put(p + "self_attn.q_proj.bias", new long[] {q});
                    m.put(p + "self_attn.k_proj.bias", new long[] {kv});
                    m.put(p + "self_attn.v_proj.bias", new long[] {kv});
                }
            }
            m.put(p + "self_attn.o_proj.weight", new long[] {hidden, q});
            if (oBias) m.put(p + "self_attn.o_proj.bias", new long[] {hidden});
            if (qkNorm) {
                m.put(p + "self_attn.q_norm.weight", new long[] {headDim});
                m.put(p + "self_attn.k_norm.weight", new long[] {headDim});
            }
            if (fused) {
                m.put(p + "mlp.gate_up_proj.weight", new long[] {2L * inter, hidden});
            } else {
                m.put(p + "mlp.gate_proj.weight", new long[] {inter, hidden});
                m.put(p + "mlp.up_proj.weight", new long[] {inter, hidden});
            }
            m.put(p + "mlp.down_proj.weight", new long[] {hidden, inter});
        }
        m.put("model.norm.weight", new long[] {hidden});
        if (!tie) m.put("lm_head.weight", new long[] {vocab, hidden});
        return m;
    }
}
