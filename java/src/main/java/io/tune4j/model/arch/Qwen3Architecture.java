package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;

/** Qwen3 (dense): per-head RMSNorm of queries and keys (q_norm, k_norm) before RoPE; attention_bias as Llama. */
final class Qwen3Architecture implements Architecture {
    @Override
    public String modelType() {
        return "qwen3";
    }

    @Override
    public String hfClass() {
        return "Qwen3ForCausalLM";
    }

    @Override
    public int defaultKvHeads(int heads) {
        return 32; // Qwen3Config's class default, not the query head count
    }

    @Override
    public int defaultHeadDim() {
        return 128; // Qwen3Config: heads are 128 wide whatever hidden_size / num_attention_heads is
    }

    @Override
    public ArchFeatures readFeatures(ConfigFields f, int numLayers) {
        return SlidingLayers.qwen(f, modelType(), false, true, numLayers);
    }

    @Override
    public void writeFeatures(ObjectNode o, LlamaConfig c) {
        SlidingLayers.writeQwen(o, c.features(), c.numLayers());
    }
}
