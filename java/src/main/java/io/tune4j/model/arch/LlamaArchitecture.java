package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;

/** Llama 2/3, TinyLlama, SmolLM and the llama2.c stories models: the plain block. */
final class LlamaArchitecture implements Architecture {
    @Override
    public String modelType() {
        return "llama";
    }

    @Override
    public String hfClass() {
        return "LlamaForCausalLM";
    }

    @Override
    public ArchFeatures readFeatures(ConfigFields f, int numLayers) {
        return ArchFeatures.LLAMA;
    }

    @Override
    public void writeFeatures(ObjectNode o, LlamaConfig c) {}
}
