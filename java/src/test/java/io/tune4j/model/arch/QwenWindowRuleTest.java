package io.tune4j.model.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.model.io.ModelFormatException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Qwen's sliding windows as transformers reads them: only with use_sliding_window. */
class QwenWindowRuleTest {
    private static final String COMMON = "\"vocab_size\": 37, \"hidden_size\": 32, \"intermediate_size\": 48, "
            + "\"num_hidden_layers\": 3, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
            + "\"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-6, \"head_dim\": 8, ";
    private static final String SLIDING_TYPES =
            "\"layer_types\": [\"sliding_attention\", \"full_attention\", \"sliding_attention\"]";

    private static LlamaConfig parse(String type, String json) throws Exception {
        return LlamaConfigReader.parse(Path.of("m/config.json"),
                new ObjectMapper().readTree("{\"model_type\": \"" + type + "\", " + COMMON + json + "}"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2", "qwen3"})
    void windowOnlyWithUseSlidingWindow(String type) throws Exception {
        LlamaConfig off = parse(type, "\"use_sliding_window\": false, \"sliding_window\": 4, \"max_window_layers\": 1");
        assertEquals(0, off.features().slidingWindow(), "use_sliding_window false drops the window");
        LlamaConfig on = parse(type, "\"use_sliding_window\": true, \"sliding_window\": 4, \"max_window_layers\": 1");
        assertEquals(4, on.features().slidingWindow());
        assertEquals(List.of(1, 2), on.features().slidingLayers(), "layers from max_window_layers on");
        LlamaConfig typed = parse(type, "\"use_sliding_window\": true, \"sliding_window\": 4, " + SLIDING_TYPES);
        assertEquals(List.of(0, 2), typed.features().slidingLayers(), "layer_types names the sliding layers");
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"sliding_window\": 6", "\"use_sliding_window\": true, \"sliding_window\": null"})
    void slidingLayersWithoutAWindowAreRefused(String window) {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> parse("qwen3", window + ", " + SLIDING_TYPES));
        assertTrue(e.getMessage().contains("m/config.json") && e.getMessage().contains("layer_types"), e.getMessage());
    }
}
