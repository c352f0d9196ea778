package io.tune4j.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Fixtures;
import io.tune4j.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A random Llama with the 32000-token byte-fallback BPE tokenizer.json fixture (tokenizers/llama2),
 * an untied LM head and head_dim set apart from hidden_size / heads: llama.cpp must tokenize as
 * tune4j does and generate its text.
 */
class GgufExportRandomLlamaTest {
    @TempDir
    Path tmp;

    private Path randomModel() throws IOException {
        return randomModel("\"head_dim\": 32");
    }

    /** extraFields: more config.json fields, e.g. "rope_scaling": {...}. */
    private Path randomModel(String extraFields) throws IOException {
        Path dir = tmp.resolve("random-llama");
        Files.createDirectories(dir);
        Path tok = Fixtures.require("tokenizers/llama2");
        Files.copy(tok.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.copy(tok.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32000,
                 "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "max_position_embeddings": 256, "rms_norm_eps": 1e-6,
                 "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": false,
                 "bos_token_id": 1, "eos_token_id": 2, %s}
                """.formatted(extraFields));
        LlamaConfig c = LlamaConfigReader.read(dir);
        try (Arena arena = new Arena()) {
            SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
            // a large std makes the logits peaked, so greedy decoding has no near ties
            for (Map.Entry<String, Tensor> e : RandomWeights.create(c, 7, 0.3f, arena).entrySet()) w.add(e.getKey(), e.getValue());
            w.write(dir.resolve("model.safetensors"));
        }
        return dir;
    }

    @Test
    void llamaCppTokenizesAndGeneratesAsTune4j() throws IOException {
        Path model = randomModel();
        Path gguf = tmp.resolve("r.gguf");
        Cli.Run r = Cli.run("export", "--model", model.toString(), "--dtype", "f32", "--out", gguf.toString());
        assertEquals(0, r.code(), r.err());
        GgufReader g = new GgufReader(gguf);
        assertTrue(g.tensors.containsKey("output.weight"), "untied head is written");
        assertEquals(32L, g.kv.get("llama.attention.key_length"));
        assertEquals(32L, g.kv.get("llama.rope.dimension_count"));
        assertEquals(32000, ((List<?>) g.kv.get("tokenizer.ggml.tokens")).size());

        List<String> texts = List.of("Hello world", "The quick brown fox jumps over the lazy dog.",
                "  leading spaces, tabs\tand\nnewlines", "naïve café, 東京, Ελληνικά and 🙂", "def f(x):\n    return x**2 + 1",
                "1,234,567.89", "<s> is not special in text");
        String expected = Cli.greedy("Hello world", 20, "--model", model.toString());
        try (LlamaCpp l = new LlamaCpp(gguf);
             HfTokenizer t = HfTokenizer.load(model.resolve("tokenizer.json"))) {
            for (String s : texts) assertArrayEquals(t.encode(s, false), l.encode(s), s);
            assertEquals(expected, l.greedy("Hello world", 20), LlamaCpp.log());
        }
    }

    /** Llama 3.1's scaling (rope_freqs.weight, here over all three wavelength regimes) and linear scaling. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {
            "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                    + "\"original_max_position_embeddings\": 64}",
            "{\"type\": \"linear\", \"factor\": 4.0}"})
    void scaledRopeGeneratesAsTune4j(String ropeScaling) throws IOException {
        Path model = randomModel("\"head_dim\": 32, \"rope_scaling\": " + ropeScaling);
        Path gguf = tmp.resolve("rope.gguf");
        Cli.Run r = Cli.run("export", "--model", model.toString(), "--dtype", "f32", "--out", gguf.toString());
        assertEquals(0, r.code(), r.err());
        GgufReader g = new GgufReader(gguf);
        assertEquals(ropeScaling.contains("llama3"), g.tensors.containsKey("rope_freqs.weight"));
        String prompt = "Once upon a time in a land far away, there lived a very old king who";
        String expected = Cli.greedy(prompt, 24, "--model", model.toString());
        try (LlamaCpp l = new LlamaCpp(gguf)) {
            assertEquals(expected, l.greedy(prompt, 24), LlamaCpp.log());
        }
    }

    /** With head_dim = hidden / heads: llama.cpp 4.2.0 wants attn_q.bias to be hidden_size long. */
    @Test
    void attentionBiasesAreExportedAndUsed() throws IOException {
        Path model = randomModel("\"attention_bias\": true");
        Path gguf = tmp.resolve("bias.gguf");
        Cli.Run r = Cli.run("export", "--model", model.toString(), "--dtype", "f32", "--out", gguf.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(new GgufReader(gguf).tensors.containsKey("blk.1.attn_k.bias"));
        String prompt = "The old king said";
        String expected = Cli.greedy(prompt, 24, "--model", model.toString());
        try (LlamaCpp l = new LlamaCpp(gguf)) {
            assertEquals(expected, l.greedy(prompt, 24), LlamaCpp.log());
        }
    }
}
