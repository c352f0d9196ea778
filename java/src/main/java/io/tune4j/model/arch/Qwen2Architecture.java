package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;

/** Qwen2 and Qwen2.5: biases on q_proj, k_proj and v_proj (none on o_proj); optional sliding windows. */
final class Qwen2Architecture implements Architecture {
    @Override
    public String modelType() {
        return "qwen2";
    }

    @Override
    public String hfClass() {
        return "Qwen2ForCausalLM";
    }

    @Override
    public int defaultKvHeads(int heads) {
        return 32; // Qwen2Config's class default, not the query head count
    }

    @Override
    public ArchFeatures readFeatures(ConfigFields f, int numLayers) {
        return SlidingLayers.qwen(f, modelType(), true, false, numLayers);
    }

    @Override
    public void writeFeatures(ObjectNode o, LlamaConfig c) {
        SlidingLayers.writeQwen(o, c.features(), c.numLayers());
    }
}
