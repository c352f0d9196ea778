package io.tune4j.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A GPT-2 style byte-level BPE tokenizer (built here: no such fixture exists) exports as
 * tokenizer model "gpt2" with its merges, and llama.cpp tokenizes with it as tune4j does.
 */
class GgufExportByteLevelBpeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> MERGES = List.of("Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ s",
            "r e", "Ġ w", "a n", "Ġ o", "Ġo n", "e d", "i s", "Ġ b", "o u", "i t", "Ġ f", "Ġa n", "Ġan d", "in g",
            "Ġs a", "Ġsa i", "Ġsai d", "Ġ d", "Ġd o", "Ġdo g", "l l", "Ġ h", "Ġh e", "Ġhe ll", "Ġhell o");

    @TempDir
    Path tmp;

    /** GPT-2's reversible map from bytes to printable characters. */
    static String[] byteChars() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) bs.add(b);
        for (int b = 0xA1; b <= 0xAC; b++) bs.add(b);
        for (int b = 0xAE; b <= 0xFF; b++) bs.add(b);
        String[] out = new String[256];
        for (int b : bs) out[b] = String.valueOf((char) b);
        int n = 0;
        for (int b = 0; b < 256; b++) if (out[b] == null) out[b] = String.valueOf((char) (256 + n++));
        return out;
    }

    private Path model() throws IOException {
        Path dir = tmp.resolve("bytelevel");
        Files.createDirectories(dir);
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String c : byteChars()) vocab.put(c, vocab.size());
        for (String m : MERGES) vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        int eot = vocab.size();
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode e = added.addObject();
        e.put("id", eot).put("content", "<|endoftext|>").put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode m = root.putObject("model");
        m.put("type", "BPE").putNull("dropout");
        m.putNull("unk_token");
        m.putNull("continuing_subword_prefix");
        m.putNull("end_of_word_suffix");
        m.put("fuse_unk", false).put("byte_fallback", false);
        ObjectNode v = m.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode mg = m.putArray("merges");
        MERGES.forEach(mg::add);
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"<|endoftext|>\", \"eos_token\": \"<|endoftext|>\", \"add_bos_token\": false}");
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": %d,
                 "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 4, "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
                 "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": true,
                 "bos_token_id": %d, "eos_token_id": %d}
                """.formatted(eot + 1, eot, eot));
        LlamaConfig c = LlamaConfigReader.read(dir);
        try (Arena arena = new Arena()) {
            SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
            for (Map.Entry<String, Tensor> t : RandomWeights.create(c, 3, 0.3f, arena).entrySet()) w.add(t.getKey(), t.getValue());
            w.write(dir.resolve("model.safetensors"));
        }
        return dir;
    }

    @Test
    void exportsAsGpt2AndLlamaCppTokenizesAsTune4j() throws IOException {
        Path model = model();
        Path gguf = tmp.resolve("b.gguf");
        Cli.Run r = Cli.run("export", "--model", model.toString(), "--dtype", "f16", "--out", gguf.toString());
        assertEquals(0, r.code(), r.err());
        GgufReader g = new GgufReader(gguf);
        assertEquals("gpt2", g.kv.get("tokenizer.ggml.model"));
        assertEquals("gpt-2", g.kv.get("tokenizer.ggml.pre"));
        assertEquals(MERGES, g.kv.get("tokenizer.ggml.merges"));
        List<String> texts = List.of("hello the dog said", "The dog and the cat went on and on.", "  it's 42, isn't it?\n",
                "naïve café 東京 🙂", "tabs\tand\r\nnewlines");
        String expected = Cli.greedy("hello the dog", 16, "--model", model.toString());
        try (LlamaCpp l = new LlamaCpp(gguf);
             HfTokenizer t = HfTokenizer.load(model.resolve("tokenizer.json"))) {
            for (String s : texts) assertArrayEquals(t.encode(s, false), l.encode(s), s);
            assertEquals(expected, l.greedy("hello the dog", 16), LlamaCpp.log());
        }
    }
}
