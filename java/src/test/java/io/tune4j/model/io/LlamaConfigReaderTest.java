package io.tune4j.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.LlamaConfig;
import io.tune4j.ops.RopeScaling;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LlamaConfigReaderTest {
    @TempDir
    Path tmp;

    private Path write(String json) throws IOException {
        Path p = tmp.resolve("config.json");
        Files.writeString(p, json);
        return p;
    }

    @Test
    void stories260K() {
        LlamaConfig c = LlamaConfigReader.read(Fixtures.require("models/stories260K-hf"));
        assertEquals(512, c.vocabSize());
        assertEquals(64, c.hiddenSize());
        assertEquals(172, c.intermediateSize());
        assertEquals(5, c.numLayers());
        assertEquals(8, c.numHeads());
        assertEquals(4, c.numKvHeads());
        assertEquals(8, c.headDim());
        assertEquals(512, c.maxPositions());
        assertEquals(1e-5f, c.rmsNormEps());
        assertEquals(RopeScaling.none(10000f), c.rope());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(1, c.bosTokenId());
        assertArrayEquals(new int[] {2}, c.eosTokenIds());
    }

    @Test
    void llama3WithScalingAndGenerationConfig() throws IOException {
        write("""
                {"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":128256,"hidden_size":2048,
                 "intermediate_size":8192,"num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,
                 "head_dim":64,"max_position_embeddings":131072,"rms_norm_eps":1e-05,"rope_theta":500000.0,
                 "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
                   "original_max_position_embeddings":8192,"rope_type":"llama3"},
                 "tie_word_embeddings":true,"bos_token_id":128000,"eos_token_id":128001,"hidden_act":"silu"}""");
        Files.writeString(tmp.resolve("generation_config.json"), """
                {"bos_token_id":128000,"do_sample":true,"eos_token_id":[128001,128008,128009],
                 "temperature":0.6,"top_p":0.9}""");
        LlamaConfig c = LlamaConfigReader.read(tmp);
        assertEquals(new RopeScaling(500000f, RopeScaling.Type.LLAMA3, 32f, 1f, 4f, 8192), c.rope());
        assertArrayEquals(new int[] {128001, 128008, 128009}, c.eosTokenIds());
        assertEquals(128000, c.bosTokenId());
        assertEquals(8, c.numKvHeads());
        GenerationDefaults g = LlamaConfigReader.readGenerationDefaults(tmp);
        assertTrue(g.doSample());
        assertEquals(0.6f, g.temperature());
        assertEquals(0.9f, g.topP());
        assertEquals(50, g.topK());
        assertArrayEquals(new int[] {128001, 128008, 128009}, g.eosTokenIds());
    }

    @Test
    void defaultsAndLinearScaling() throws IOException {
        write("""
                {"model_type":"llama","vocab_size":32000,"hidden_size":256,"intermediate_size":512,
                 "num_hidden_layers":2,"num_attention_heads":4,"eos_token_id":[2, 7],
                 "rope_scaling":{"type":"linear","factor":2.0}}""");
        LlamaConfig c = LlamaConfigReader.read(tmp.resolve("config.json"));
        assertEquals(4, c.numKvHeads());
        assertEquals(64, c.headDim());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(1, c.bosTokenId());
        assertArrayEquals(new int[] {2, 7}, c.eosTokenIds());
        assertEquals(RopeScaling.Type.LINEAR, c.rope().type());
        assertEquals(2f, c.rope().factor());
        assertEquals(10000f, c.rope().theta());
        assertEquals(GenerationDefaults.NONE, LlamaConfigReader.readGenerationDefaults(tmp));
    }

    @Test
    void missingField() throws IOException {
        Path p = write("{\"model_type\":\"llama\",\"vocab_size\":10,\"intermediate_size\":8,\"num_hidden_layers\":1,"
                + "\"num_attention_heads\":2}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertEquals(p + ": missing field 'hidden_size'", e.getMessage());
    }

    @Test
    void rejectsOtherArchitectures() throws IOException {
        Path p = write("{\"architectures\":[\"GPTNeoXForCausalLM\"],\"model_type\":\"gpt_neox\",\"hidden_size\":8}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertTrue(e.getMessage().startsWith(p + ": model_type 'gpt_neox' is not supported; tune4j loads llama, mistral, "
                + "qwen2, qwen3, gemma2, gemma3_text, phi3"), e.getMessage());
        write("{\"architectures\":[\"Qwen2ForCausalLM\"],\"model_type\":\"llama\",\"hidden_size\":8}");
        e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertTrue(e.getMessage().contains("expected LlamaForCausalLM"), e.getMessage());
        write("{\"architectures\":[\"GPT2LMHeadModel\"],\"hidden_size\":8}");
        e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertTrue(e.getMessage().contains("GPT2LMHeadModel"), e.getMessage());
    }

    static final String PHI3 = "{\"architectures\":[\"Phi3ForCausalLM\"],\"model_type\":\"phi3\",\"vocab_size\":32064,"
            + "\"hidden_size\":3072,\"intermediate_size\":8192,\"num_hidden_layers\":32,\"num_attention_heads\":32,"
            + "\"num_key_value_heads\":32,\"max_position_embeddings\":4096,\"original_max_position_embeddings\":4096,"
            + "\"hidden_act\":\"silu\",\"rope_theta\":10000.0,\"sliding_window\":2047,\"tie_word_embeddings\":false,"
            + "\"bos_token_id\":1,\"eos_token_id\":32000";

    @Test
    void phi3MiniReadsWithFusedProjectionsAndItsWindow() throws IOException {
        write(PHI3 + ",\"rope_scaling\":null}");
        LlamaConfig c = LlamaConfigReader.read(tmp);
        assertEquals("phi3", c.modelType());
        assertTrue(c.features().fused());
        assertEquals(2047, c.features().slidingWindow());
        assertEquals(2047, c.features().windowOf(31));
        assertEquals(1e-5f, c.rmsNormEps()); // Phi3Config's default
        assertEquals(java.util.List.of("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
                io.tune4j.model.arch.ModuleTable.projectionNames(c));
        java.util.Map<String, long[]> shapes = io.tune4j.model.arch.ModuleTable.shapes(c);
        assertArrayEquals(new long[] {3 * 3072, 3072}, shapes.get("model.layers.0.self_attn.qkv_proj.weight"));
        assertArrayEquals(new long[] {2 * 8192, 3072}, shapes.get("model.layers.0.mlp.gate_up_proj.weight"));
        assertTrue(!shapes.containsKey("model.layers.0.self_attn.q_proj.weight"));
        assertEquals(3_821_079_552L, c.parameterCount()); // Phi-3-mini-4k's 3.8B
    }

    @Test
    void phi3RefusesLongRopeAndPartialRotary() throws IOException {
        for (String type : new String[] {"longrope", "su", "yarn"}) {
            Path p = write(PHI3 + ",\"rope_scaling\":{\"type\":\"" + type + "\",\"short_factor\":[1.0],\"long_factor\":[1.0]}}");
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
            assertTrue(e.getMessage().startsWith(p + ": rope_scaling type '" + type + "' is not supported for phi3"),
                    e.getMessage());
        }
        Path p = write(PHI3 + ",\"partial_rotary_factor\":0.5}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertTrue(e.getMessage().startsWith(p + ": partial_rotary_factor 0.5 is not supported for phi3"), e.getMessage());
        write(PHI3 + ",\"partial_rotary_factor\":1.0}");
        assertEquals("phi3", LlamaConfigReader.read(tmp).modelType());
        write(PHI3 + ",\"attention_bias\":true}");
        e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertTrue(e.getMessage().contains("attention_bias is true, but Phi-3's projections have no biases"), e.getMessage());
    }

    @Test
    void badValues() throws IOException {
        Path p = write("{\"model_type\":\"llama\",\"vocab_size\":10,\"hidden_size\":\"big\"}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertTrue(e.getMessage().startsWith(p + ": field 'hidden_size' must be an integer"), e.getMessage());
        write("{\"vocab_size\":10,\"hidden_size\":8,\"intermediate_size\":8,\"num_hidden_layers\":1,"
                + "\"num_attention_heads\":2,\"num_key_value_heads\":3}");
        e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertTrue(e.getMessage().startsWith(p + ": ") && e.getMessage().contains("multiple"), e.getMessage());
        write("{\"vocab_size\":10,\"hidden_size\":8,\"intermediate_size\":8,\"num_hidden_layers\":1,"
                + "\"num_attention_heads\":2,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}}");
        e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertTrue(e.getMessage().contains("'yarn' is not supported"), e.getMessage());
        write("{not json");
        e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertTrue(e.getMessage().startsWith(p + ": not valid JSON"), e.getMessage());
        Files.delete(p);
        e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertEquals(p + ": file not found", e.getMessage());
    }

    /**
     * A config.json without num_key_value_heads or head_dim reads as transformers' config class for
     * that model_type reads it: some families default to fixed numbers, not to the query head count or
     * hidden_size / num_attention_heads. A null num_key_value_heads means one per query head.
     */
    @ParameterizedTest
    @CsvSource({"llama, 32, 64", "mistral, 8, 64", "qwen2, 32, 64", "qwen3, 32, 128", "gemma2, 4, 256",
            "gemma3_text, 4, 256", "phi3, 32, 64"})
    void missingHeadKeysTakeTheFamilysDefaults(String type, int kvHeads, int headDim) throws IOException {
        String base = "{\"model_type\":\"" + type + "\",\"vocab_size\":64,\"hidden_size\":2048,\"intermediate_size\":64,"
                + "\"num_hidden_layers\":2,\"num_attention_heads\":32,\"rms_norm_eps\":1e-6";
        write(base + "}");
        LlamaConfig c = LlamaConfigReader.read(tmp);
        assertEquals(kvHeads, c.numKvHeads(), "num_key_value_heads");
        assertEquals(headDim, c.headDim(), "head_dim");
        write(base + ",\"num_key_value_heads\":null}");
        assertEquals(32, LlamaConfigReader.read(tmp).numKvHeads(), "null num_key_value_heads");
    }

    @Test
    void aFamilyDefaultThatDoesNotFitSaysWhereItCameFrom() throws IOException {
        Path p = write("{\"model_type\":\"mistral\",\"vocab_size\":64,\"hidden_size\":64,\"intermediate_size\":64,"
                + "\"num_hidden_layers\":2,\"num_attention_heads\":4}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LlamaConfigReader.read(tmp));
        assertEquals(p + ": num_key_value_heads is not given, and mistral's default of 8 (as transformers reads it) "
                + "does not divide num_attention_heads 4; set num_key_value_heads", e.getMessage());
    }
}
