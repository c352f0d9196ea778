package io.tune4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.ModelDirWriter;
import io.tune4j.tensor.Arena;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every family from the command line as a user runs it: a small random-weight model written as a
 * Hugging Face directory of that family, then info, a LoRA finetune, merge, and greedy text from the
 * merged model equal to the base model with the adapter.
 */
class FamiliesCommandTest {
    @TempDir
    Path tmp;

    static final ObjectMapper JSON = new ObjectMapper();

    /** A random model of the family (the stories260K tokenizer's 512 tokens) in tmp/name. */
    private Path randomModel(String name, String json) throws IOException {
        Path dir = tmp.resolve(name);
        LlamaConfig cfg = LlamaConfigReader.parse(dir.resolve("config.json"), JSON.readTree(json));
        try (Arena arena = new Arena()) {
            LlamaModel m = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, 7, 0.05f, arena), CpuOps.INSTANCE);
            ModelDirWriter.write(dir, m, Map.of(), null);
        }
        Files.copy(Fixtures.require("models/stories260K-hf").resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        return dir;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "qwen2|Qwen2ForCausalLM|q/k/v biases (no o_proj bias)|\"model_type\": \"qwen2\", \"tie_word_embeddings\": true|q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj|self_attn.k_proj mlp.down_proj",
        "qwen3|Qwen3ForCausalLM|per-head q_norm/k_norm|\"model_type\": \"qwen3\", \"head_dim\": 24, \"use_sliding_window\": true, \"sliding_window\": 8, \"max_window_layers\": 1|q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj|self_attn.k_proj mlp.down_proj",
        "mistral|MistralForCausalLM|sliding-window attention (8 keys, every layer)|\"model_type\": \"mistral\", \"sliding_window\": 8|q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj|self_attn.k_proj mlp.down_proj",
        "gemma2|Gemma2ForCausalLM|final logit soft-capping (30.0)|\"model_type\": \"gemma2\", \"head_dim\": 16, \"query_pre_attn_scalar\": 16, \"sliding_window\": 8|q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj|self_attn.k_proj mlp.down_proj",
        "gemma3_text|Gemma3ForCausalLM|RoPE theta 10000.0 on sliding-window layers|\"model_type\": \"gemma3_text\", \"head_dim\": 16, \"query_pre_attn_scalar\": 16, \"sliding_window\": 8, \"layer_types\": [\"sliding_attention\", \"full_attention\"]|q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj|self_attn.k_proj mlp.down_proj",
        "phi3|Phi3ForCausalLM|fused qkv_proj and gate_up_proj|\"model_type\": \"phi3\", \"sliding_window\": 8, \"tie_word_embeddings\": false|qkv_proj,o_proj,gate_up_proj,down_proj|self_attn.qkv_proj mlp.gate_up_proj",
    })
    void infoFinetuneMergeAndGenerate(String type, String hfClass, String feature, String extra, String targets, String keys)
            throws IOException {
        String json = "{" + extra + ", \"vocab_size\": 512, \"hidden_size\": 64, \"intermediate_size\": 96, "
                + "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
                + "\"max_position_embeddings\": 128, \"rms_norm_eps\": 1e-5, \"bos_token_id\": 1, \"eos_token_id\": 2}";
        Path model = randomModel(type, json);
        JsonNode written = JSON.readTree(model.resolve("config.json").toFile());
        assertEquals(type, written.get("model_type").asText());
        assertEquals(hfClass, written.get("architectures").get(0).asText());

        CliTest.Run info = CliTest.run("info", "--model", model.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains(hfClass) && info.out().contains(feature), info.out());

        Path out = tmp.resolve(type + "-run");
        CliTest.Run ft = CliTest.run("finetune", "--model", model.toString(),
                "--data", Fixtures.require("data/tinystories/TinyStories-valid-excerpt.txt").toString(),
                "--val-split", "0.1", "--text-mode", "whole-file", "--method", "lora", "--target-modules",
                targets, "--max-steps", "8", "--batch-size", "2",
                "--seq-len", "32", "--lr", "1e-2", "--out", out.toString());
        assertEquals(0, ft.code(), ft.err());
        JsonNode eval = JSON.readTree(out.resolve("eval.json").toFile());
        double before = eval.at("/before/loss").asDouble(), after = eval.at("/after/loss").asDouble();
        assertTrue(after < before, "validation loss " + before + " -> " + after);
        Path adapter = out.resolve("adapter");
        try (SafetensorsFile st = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            // PEFT's key names for this model type
            String[] modules = keys.split(" ");
            assertTrue(st.names().contains("base_model.model.model.layers.1." + modules[0] + ".lora_A.weight"), st.names().toString());
            assertTrue(st.names().contains("base_model.model.model.layers.0." + modules[1] + ".lora_B.weight"), st.names().toString());
            assertEquals(2L * 2 * targets.split(",").length, st.names().size(), st.names().toString());
        }

        Path merged = tmp.resolve(type + "-merged");
        CliTest.Run mr = CliTest.run("merge", "--model", model.toString(), "--adapter", adapter.toString(),
                "--out", merged.toString());
        assertEquals(0, mr.code(), mr.err());
        assertEquals(type, JSON.readTree(merged.resolve("config.json").toFile()).get("model_type").asText());
        CliTest.Run withAdapter = CliTest.run("generate", "--model", model.toString(), "--adapter", adapter.toString(),
                "--prompt", "Once upon a time", "--max-tokens", "24");
        CliTest.Run fromMerged = CliTest.run("generate", "--model", merged.toString(), "--prompt", "Once upon a time",
                "--max-tokens", "24");
        assertEquals(0, withAdapter.code(), withAdapter.err());
        assertEquals(0, fromMerged.code(), fromMerged.err());
        assertEquals(withAdapter.out(), fromMerged.out(), "merged model and adapter give the same greedy text");
    }

    /** Without --target-modules, LoRA on Phi-3 takes its attention projections as they are named there. */
    @org.junit.jupiter.api.Test
    void phi3DefaultLoraTargetsAreItsFusedAttention() throws IOException {
        Path model = tinyPhi3("phi3-default");
        Path out = tmp.resolve("phi3-default-run");
        CliTest.Run ft = CliTest.run("finetune", "--model", model.toString(),
                "--data", Fixtures.require("data/tinystories/TinyStories-valid-excerpt.txt").toString(),
                "--val-split", "0.1", "--text-mode", "whole-file", "--method", "lora", "--max-steps", "2",
                "--batch-size", "2", "--seq-len", "16", "--out", out.toString());
        assertEquals(0, ft.code(), ft.err());
        JsonNode cfg = JSON.readTree(out.resolve("adapter/adapter_config.json").toFile());
        java.util.Set<String> targets = new java.util.TreeSet<>();
        cfg.get("target_modules").forEach(t -> targets.add(t.asText()));
        assertEquals(java.util.Set.of("o_proj", "qkv_proj"), targets, cfg.toString());
    }

    /** A one-layer Phi-3 with random weights, in its own directory. */
    private Path tinyPhi3(String name) throws IOException {
        return randomModel(name, "{\"model_type\": \"phi3\", \"vocab_size\": 512, \"hidden_size\": 32, "
                + "\"intermediate_size\": 48, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, "
                + "\"max_position_embeddings\": 64, \"tie_word_embeddings\": false}");
    }

    /** The bundled llama.cpp has no phi3 architecture: a Phi-3 model is refused in one line. */
    @org.junit.jupiter.api.Test
    void phi3IsNotExportedToGguf() throws IOException {
        Path model = tinyPhi3("phi3");
        Path gguf = tmp.resolve("phi3.gguf");
        CliTest.Run ex = CliTest.run("export", "--model", model.toString(), "--dtype", "f32", "--out", gguf.toString());
        assertEquals(2, ex.code(), ex.out() + ex.err());
        assertTrue(ex.err().contains("model_type 'phi3' cannot be exported to GGUF"), ex.err());
        assertTrue(!Files.exists(gguf), "no file is left behind");
    }
}
