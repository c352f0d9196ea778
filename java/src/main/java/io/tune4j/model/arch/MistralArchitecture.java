package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;

/**
 * Mistral: the Llama block with sliding-window attention on every layer when sliding_window is set
 * (Mistral 7B v0.1: 4096; v0.2 and later: null, full attention).
 */
final class MistralArchitecture implements Architecture {
    /** MistralConfig's default when config.json has no sliding_window key at all. */
    static final int DEFAULT_WINDOW = 4096;

    @Override
    public String modelType() {
        return "mistral";
    }

    @Override
    public String hfClass() {
        return "MistralForCausalLM";
    }

    @Override
    public int defaultKvHeads(int heads) {
        return 8; // MistralConfig: Mistral 7B's grouping
    }

    @Override
    public ArchFeatures readFeatures(ConfigFields f, int numLayers) {
        boolean given = f.node().has("sliding_window");
        int window = given ? f.optInt("sliding_window", 0) : DEFAULT_WINDOW;
        if (window < 0) throw f.error("sliding_window must be positive or null, got " + window);
        return new ArchFeatures(modelType(), false, false, window, SlidingLayers.all(numLayers));
    }

    @Override
    public void writeFeatures(ObjectNode o, LlamaConfig c) {
        int w = c.features().slidingWindow();
        if (w > 0) o.put("sliding_window", w);
        else o.putNull("sliding_window");
    }
}
