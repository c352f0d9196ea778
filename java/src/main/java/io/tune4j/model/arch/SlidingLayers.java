package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/** Which layers slide: config.json's layer_types, or Qwen's use_sliding_window and max_window_layers. */
final class SlidingLayers {
    static final String SLIDING = "sliding_attention";
    static final String FULL = "full_attention";

    private SlidingLayers() {}

    static List<Integer> all(int numLayers) {
        return IntStream.range(0, numLayers).boxed().toList();
    }

    /** layer_types when given, else null. */
    static List<Integer> fromLayerTypes(ConfigFields f, int numLayers) {
        if (!f.present("layer_types")) return null;
        JsonNode types = f.node().get("layer_types");
        if (!types.isArray() || types.size() != numLayers) {
            throw f.error("layer_types must list one entry per layer (" + numLayers + "), got " + types);
        }
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < numLayers; l++) {
            String t = types.get(l).asText();
            if (t.equals(SLIDING)) out.add(l);
            else if (!t.equals(FULL)) {
                throw f.error("layer_types[" + l + "] is '" + t + "' (expected " + SLIDING + " or " + FULL + ")");
            }
        }
        return out;
    }

    /**
     * Qwen2/Qwen3, as transformers reads them: sliding_window counts only with use_sliding_window (else it
     * is None); the sliding layers are layer_types' when given, else those from max_window_layers on.
     */
    static ArchFeatures qwen(ConfigFields f, String modelType, boolean qkvBias, boolean qkNorm, int numLayers) {
        List<Integer> layers = fromLayerTypes(f, numLayers);
        // absent: transformers' default of 4096; null: no window
        boolean use = f.optBool("use_sliding_window", false);
        boolean nullWindow = f.node().has("sliding_window") && !f.present("sliding_window");
        if (layers != null && !layers.isEmpty() && (!use || nullWindow)) {
            // transformers drops the window here and then cannot build the sliding layers' mask
            throw f.error("layer_types lists sliding_attention layers but " + (use ? "sliding_window is null"
                    : "use_sliding_window is not true") + ", so they have no window; set use_sliding_window and "
                    + "sliding_window, or list them as full_attention");
        }
        if (!use || nullWindow) return new ArchFeatures(modelType, qkvBias, qkNorm, 0, List.of());
        int window = f.optInt("sliding_window", 4096);
        if (layers == null) {
            int from = f.optInt("max_window_layers", 28);
            layers = IntStream.range(Math.max(0, from), numLayers).boxed().toList();
        }
        if (layers.isEmpty()) return new ArchFeatures(modelType, qkvBias, qkNorm, 0, List.of());
        if (window <= 0) throw f.error("sliding_window must be positive when layers slide, got " + window);
        return new ArchFeatures(modelType, qkvBias, qkNorm, window, layers);
    }

    /** The keys {@link #qwen} reads. */
    static void writeQwen(ObjectNode o, ArchFeatures a, int numLayers) {
        o.put("use_sliding_window", a.slidingWindow() > 0);
        o.put("sliding_window", a.slidingWindow() > 0 ? a.slidingWindow() : 4096);
        o.put("max_window_layers", numLayers);
        ArrayNode types = o.putArray("layer_types");
        for (int l = 0; l < numLayers; l++) types.add(a.windowOf(l) > 0 ? SLIDING : FULL);
    }
}
