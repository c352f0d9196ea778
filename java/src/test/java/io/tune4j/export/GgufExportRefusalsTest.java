package io.tune4j.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Models tune4j runs but the bundled llama.cpp (build 4916) cannot run as tune4j does: export ends
 * with one line naming the model directory and the config.json field, exit code 2, and no file.
 */
class GgufExportRefusalsTest {
    @TempDir
    Path tmp;

    private Path model(String name, String fields) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Path hf = Fixtures.require("models/stories260K-hf");
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) Files.copy(hf.resolve(f), dir.resolve(f));
        Files.writeString(dir.resolve("config.json"), "{" + fields + ", \"vocab_size\": 512, \"hidden_size\": 64, "
                + "\"intermediate_size\": 96, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
                + "\"max_position_embeddings\": 128, \"rms_norm_eps\": 1e-5, \"bos_token_id\": 1, \"eos_token_id\": 2}");
        LlamaConfig c = LlamaConfigReader.read(dir);
        try (Arena arena = new Arena()) {
            SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
            for (Map.Entry<String, Tensor> e : RandomWeights.create(c, 1, 0.02f, arena).entrySet()) w.add(e.getKey(), e.getValue());
            w.write(dir.resolve("model.safetensors"));
        }
        return dir;
    }

    static final String GEMMA2 = "\"model_type\": \"gemma2\", \"head_dim\": 32, \"sliding_window\": 8";
    static final String GEMMA3 = "\"model_type\": \"gemma3_text\", \"num_hidden_layers\": 6, \"head_dim\": 32, "
            + "\"query_pre_attn_scalar\": 32, \"sliding_window\": 8";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "qwen3|\"model_type\": \"qwen3\", \"num_hidden_layers\": 2|model_type 'qwen3'|no qwen3 architecture",
        "qwen2-swa|\"model_type\": \"qwen2\", \"num_hidden_layers\": 2, \"use_sliding_window\": true, \"sliding_window\": 8, "
                + "\"max_window_layers\": 1|use_sliding_window true|no sliding-window attention",
        "qwen2-llama3-rope|\"model_type\": \"qwen2\", \"num_hidden_layers\": 2, \"rope_scaling\": {\"rope_type\": \"llama3\", "
                + "\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                + "\"original_max_position_embeddings\": 64}|rope_scaling llama3|only linear scaling",
        "qwen2-o-bias|\"model_type\": \"qwen2\", \"num_hidden_layers\": 2, \"attention_bias\": true|attention_bias true|no o_proj bias",
        "gemma2-layers|" + GEMMA2 + ", \"query_pre_attn_scalar\": 32, \"num_hidden_layers\": 2|num_hidden_layers 2|26, 42 or 46 layers",
        "gemma2-scalar|" + GEMMA2 + ", \"num_hidden_layers\": 26, \"query_pre_attn_scalar\": 64|query_pre_attn_scalar 64.0|head_dim (32)",
        "gemma2-no-cap|" + GEMMA2 + ", \"query_pre_attn_scalar\": 32, \"num_hidden_layers\": 26, \"final_logit_softcapping\": null|final_logit_softcapping null|always soft-caps",
        "gemma3-local-rope|" + GEMMA3 + ", \"rope_local_base_freq\": 20000.0|rope_local_base_freq 20000.0|10000",
        "gemma3-untied|" + GEMMA3 + ", \"tie_word_embeddings\": false|tie_word_embeddings false|token embeddings",
        "gemma3-layer-types|" + GEMMA3 + ", \"layer_types\": [\"sliding_attention\", \"full_attention\", \"sliding_attention\", "
                + "\"sliding_attention\", \"sliding_attention\", \"full_attention\"]|layer_types layer 1 full|every sixth layer",
    })
    void refusedWithTheFieldNamedAndNoFileLeft(String name, String fields, String field, String why) throws IOException {
        Path dir = model(name, fields);
        Path outDir = Files.createDirectories(tmp.resolve("out-" + name));
        Cli.Run r = Cli.run("export", "--model", dir.toString(), "--out", outDir.resolve("m.gguf").toString());
        assertEquals(2, r.code(), r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().filter(l -> l.startsWith("tune4j: ")).count(), err);
        for (String s : List.of(dir.toString(), field, why)) assertTrue(err.contains(s), "'" + s + "' missing from: " + err);
        try (Stream<Path> s = Files.list(outDir)) {
            assertEquals(List.of(), s.toList(), "no file, temporary or final, may be left behind");
        }
    }
}
