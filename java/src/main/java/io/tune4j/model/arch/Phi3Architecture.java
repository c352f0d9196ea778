package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;
import java.util.List;

/**
 * Phi-3 (Phi3ForCausalLM, e.g. Phi-3-mini-4k): the Llama block with q/k/v fused into one qkv_proj
 * (rows q, then k, then v) and gate/up into one gate_up_proj (gate half first), no biases, and a
 * sliding window on every layer when sliding_window is set (Phi3Config's default is none).
 * The long-context variants' RoPE (longrope, su, yarn) and partial rotary embeddings are refused.
 */
final class Phi3Architecture implements Architecture {
    private static final List<String> LONG_ROPE = List.of("longrope", "su", "yarn");

    @Override
    public String modelType() {
        return "phi3";
    }

    @Override
    public String hfClass() {
        return "Phi3ForCausalLM";
    }

    @Override
    public float defaultRmsNormEps() {
        return 1e-5f;
    }

    @Override
    public void refuseUnsupported(ConfigFields f) {
        JsonNode scaling = f.node().get("rope_scaling");
        if (scaling != null && scaling.isObject()) {
            String type = scaling.path("rope_type").isTextual() ? scaling.get("rope_type").asText()
                    : scaling.path("type").asText("default");
            if (LONG_ROPE.contains(type)) {
                throw f.error("rope_scaling type '" + type + "' is not supported for phi3: the 128k-context Phi-3 "
                        + "models' long RoPE is not implemented (the 4k-context models, rope_scaling null, load)");
            }
        }
        if (f.present("partial_rotary_factor") && f.optFloat("partial_rotary_factor", 1f) != 1f) {
            throw f.error("partial_rotary_factor " + f.node().get("partial_rotary_factor")
                    + " is not supported for phi3 (expected 1.0: RoPE over the whole head)");
        }
        // Phi3Attention and Phi3MLP build their linears with bias=False whatever the config says; refusing a
        // true here keeps tune4j from looking for bias tensors the checkpoint cannot have
        for (String field : List.of("attention_bias", "mlp_bias")) {
            if (f.optBool(field, false)) throw f.error(field + " is true, but Phi-3's projections have no biases");
        }
    }

    @Override
    public ArchFeatures readFeatures(ConfigFields f, int numLayers) {
        int window = f.optInt("sliding_window", 0);
        if (window < 0) throw f.error("sliding_window must be positive or null, got " + window);
        return new ArchFeatures(modelType(), false, false, window, SlidingLayers.all(numLayers), BlockExtras.NONE, true);
    }

    @Override
    public void writeFeatures(ObjectNode o, LlamaConfig c) {
        int w = c.features().slidingWindow();
        if (w > 0) o.put("sliding_window", w);
        else o.putNull("sliding_window");
    }
}
