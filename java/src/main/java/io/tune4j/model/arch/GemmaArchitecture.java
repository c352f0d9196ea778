package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Gemma 2 and Gemma 3 text models: RMSNorm with (1 + w), GeGLU with tanh-approximate GELU, embeddings
 * scaled by sqrt(hidden_size), norms before and after attention and MLP, query_pre_attn_scalar, and
 * alternating sliding-window layers. Gemma 2 soft-caps attention scores and logits; Gemma 3 has per-head
 * q_norm/k_norm and a separate RoPE base on its sliding layers. Defaults are transformers' config
 * defaults, so a config.json that omits a key reads as the released models do.
 */
final class GemmaArchitecture implements Architecture {
    private final int version;

    private GemmaArchitecture(int version) {
        this.version = version;
    }

    static GemmaArchitecture gemma2() {
        return new GemmaArchitecture(2);
    }

    static GemmaArchitecture gemma3() {
        return new GemmaArchitecture(3);
    }

    @Override
    public String modelType() {
        return version == 2 ? "gemma2" : "gemma3_text";
    }

    @Override
    public String hfClass() {
        return version == 2 ? "Gemma2ForCausalLM" : "Gemma3ForCausalLM";
    }

    @Override
    public float defaultRopeTheta() {
        return version == 2 ? 10000f : 1_000_000f;
    }

    @Override
    public boolean defaultTiedEmbeddings() {
        return true;
    }

    @Override
    public int defaultKvHeads(int heads) {
        return 4; // Gemma2Config and Gemma3TextConfig
    }

    @Override
    public int defaultHeadDim() {
        return 256; // Gemma2Config and Gemma3TextConfig: not hidden_size / num_attention_heads
    }

    @Override
    public String readActivation(ConfigFields f) {
        // transformers reads hidden_activation; hidden_act is the older key of the same setting
        String key = f.present("hidden_activation") ? "hidden_activation" : f.present("hidden_act") ? "hidden_act" : null;
        String act = key == null ? LlamaConfig.GELU_TANH : f.reqText(key);
        if (!act.equals(LlamaConfig.GELU_TANH)) {
            throw f.error(key + " '" + act + "' is not supported for " + modelType() + " (expected " + LlamaConfig.GELU_TANH + ")");
        }
        return act;
    }

    @Override
    public ArchFeatures readFeatures(ConfigFields f, int numLayers) {
        if (f.optBool("use_bidirectional_attention", false)) {
            throw f.error("use_bidirectional_attention is true: tune4j runs causal decoders only");
        }
        int window = f.optInt("sliding_window", 4096);
        // Gemma 2 slides on even layers; Gemma 3 on all but every sliding_window_pattern-th
        int pattern = version == 2 ? 2 : f.optInt("sliding_window_pattern", 6);
        if (pattern <= 0) throw f.error("sliding_window_pattern must be positive, got " + pattern);
        List<Integer> layers = SlidingLayers.fromLayerTypes(f, numLayers);
        if (layers == null) {
            layers = new ArrayList<>();
            for (int l = 0; l < numLayers; l++) if ((l + 1) % pattern != 0) layers.add(l);
        }
        if (!layers.isEmpty() && window <= 0) throw f.error("sliding_window must be positive when layers slide, got " + window);
        float scalar = f.optFloat("query_pre_attn_scalar", 256f);
        if (!(scalar > 0)) throw f.error("query_pre_attn_scalar must be positive, got " + scalar);
        float attnCap = softcap(f, "attn_logit_softcapping", version == 2 ? 50f : 0f);
        float finalCap = softcap(f, "final_logit_softcapping", version == 2 ? 30f : 0f);
        float localTheta = version == 2 ? 0f : localRopeTheta(f);
        BlockExtras x = new BlockExtras(1f, true, true, scalar, attnCap, finalCap, localTheta);
        return new ArchFeatures(modelType(), false, version == 3, layers.isEmpty() ? 0 : window, layers, x);
    }

    private static float softcap(ConfigFields f, String field, float def) {
        if (f.node().has(field) && f.node().get(field).isNull()) return 0f;
        float v = f.optFloat(field, def);
        if (v < 0) throw f.error(field + " must be positive or null, got " + v);
        return v;
    }

    // rope_local_base_freq, or (newer transformers) rope_parameters.sliding_attention.rope_theta
    private static float localRopeTheta(ConfigFields f) {
        JsonNode params = f.node().get("rope_parameters");
        float theta = f.optFloat("rope_local_base_freq", 10000f);
        if (!f.present("rope_local_base_freq") && params != null && params.isObject()
                && params.path("sliding_attention").path("rope_theta").isNumber()) {
            theta = (float) params.get("sliding_attention").get("rope_theta").asDouble();
        }
        if (!(theta > 0)) throw f.error("rope_local_base_freq must be positive, got " + theta);
        return theta;
    }

    @Override
    public void writeFeatures(ObjectNode o, LlamaConfig c) {
        BlockExtras x = c.features().extras();
        o.put("hidden_activation", c.hiddenAct());
        o.put("query_pre_attn_scalar", x.queryPreAttnScalar());
        putCap(o, "attn_logit_softcapping", x.attnSoftcap());
        putCap(o, "final_logit_softcapping", x.finalSoftcap());
        if (version == 3) o.put("rope_local_base_freq", x.localRopeTheta());
        ArchFeatures a = c.features();
        o.put("sliding_window", a.slidingWindow() > 0 ? a.slidingWindow() : 4096);
        ArrayNode types = o.putArray("layer_types");
        for (int l = 0; l < c.numLayers(); l++) types.add(a.windowOf(l) > 0 ? SlidingLayers.SLIDING : SlidingLayers.FULL);
    }

    private static void putCap(ObjectNode o, String field, float cap) {
        if (cap > 0) o.put(field, cap);
        else o.putNull(field);
    }
}
