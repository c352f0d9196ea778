package io.tune4j.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `tune4j export`: the file's metadata and tensor layout, and one-line errors that leave no file. */
class ExportCommandTest {
    @TempDir
    Path tmp;

    private static String model() {
        return Fixtures.require("models/stories260K-hf").toString();
    }

    private static void assertBadInput(Cli.Run r, String... mustContain) {
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        assertEquals("", r.out());
        String err = r.err().strip();
        assertTrue(err.startsWith("tune4j: "), err);
        assertEquals(1, err.lines().filter(l -> l.startsWith("tune4j: ")).count(), err);
        for (String s : mustContain) assertTrue(err.contains(s), "'" + s + "' missing from: " + err);
    }

    private void assertNothingWritten() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            List<Path> left = s.filter(p -> p.getFileName().toString().contains("gguf")).toList();
            assertEquals(List.of(), left, "no file, temporary or final, may be left behind");
        }
    }

    @Test
    void metadataAndTensorsFollowLlamaCppsNaming() throws IOException {
        Path out = tmp.resolve("s.gguf");
        Cli.Run r = Cli.run("export", "--model", model(), "--dtype", "q8_0", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        GgufReader g = new GgufReader(out);
        assertEquals(3, g.version);
        assertEquals("llama", g.kv.get("general.architecture"));
        assertEquals("stories260K-hf", g.kv.get("general.name"));
        assertEquals(7L, g.kv.get("general.file_type"));
        assertEquals(512L, g.kv.get("llama.context_length"));
        assertEquals(64L, g.kv.get("llama.embedding_length"));
        assertEquals(5L, g.kv.get("llama.block_count"));
        assertEquals(172L, g.kv.get("llama.feed_forward_length"));
        assertEquals(8L, g.kv.get("llama.attention.head_count"));
        assertEquals(4L, g.kv.get("llama.attention.head_count_kv"));
        assertEquals(1e-5f, g.kv.get("llama.attention.layer_norm_rms_epsilon"));
        assertEquals(10000f, g.kv.get("llama.rope.freq_base"));
        assertEquals(8L, g.kv.get("llama.rope.dimension_count"));
        assertEquals(512L, g.kv.get("llama.vocab_size"));
        assertEquals("llama", g.kv.get("tokenizer.ggml.model"));
        List<?> tokens = (List<?>) g.kv.get("tokenizer.ggml.tokens");
        List<?> types = (List<?>) g.kv.get("tokenizer.ggml.token_type");
        assertEquals(512, tokens.size());
        assertEquals(512, ((List<?>) g.kv.get("tokenizer.ggml.scores")).size());
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 4));
        assertEquals(List.of(2, 3, 3, 6), types.subList(0, 4));
        assertEquals(1L, g.kv.get("tokenizer.ggml.bos_token_id"));
        assertEquals(2L, g.kv.get("tokenizer.ggml.eos_token_id"));
        assertEquals(0L, g.kv.get("tokenizer.ggml.unknown_token_id"));
        assertEquals(true, g.kv.get("tokenizer.ggml.add_bos_token"));

        // tied embeddings: no output.weight, llama.cpp reads the head from token_embd
        assertFalse(g.tensors.containsKey("output.weight"));
        assertEquals(2 + 9 * 5, g.tensors.size());
        assertEquals(8, g.tensors.get("token_embd.weight").type());
        assertEquals(0, g.tensors.get("output_norm.weight").type(), "1-D tensors stay f32");
        assertEquals(0, g.tensors.get("blk.0.attn_norm.weight").type());
        assertEquals(8, g.tensors.get("blk.4.attn_q.weight").type());
        // ffn_down rows are 172 long, not whole blocks of 32: stored as f16 like llama.cpp's converter does
        assertEquals(1, g.tensors.get("blk.0.ffn_down.weight").type());
        assertEquals(List.of(64L, 32L), List.of(g.tensors.get("blk.0.attn_k.weight").ne()[0], g.tensors.get("blk.0.attn_k.weight").ne()[1]));
        assertEquals(List.of(172L, 64L), List.of(g.tensors.get("blk.0.ffn_down.weight").ne()[0], g.tensors.get("blk.0.ffn_down.weight").ne()[1]));
        assertTrue(r.err().contains("5 matrices with rows not a multiple of 32 as f16"), r.err());
    }

    @Test
    void unknownDtypeAndFormatAreOneLineErrors() throws IOException {
        assertBadInput(Cli.run("export", "--model", model(), "--dtype", "q4_k", "--out", tmp.resolve("a.gguf").toString()),
                "--dtype", "q4_k", "f32, f16, bf16 or q8_0");
        assertBadInput(Cli.run("export", "--model", model(), "--format", "onnx", "--out", tmp.resolve("a.gguf").toString()),
                "--format", "onnx");
        assertNothingWritten();
    }

    @Test
    void unwritableOutputIsAnErrorNamingTheFile() throws IOException {
        Path missing = tmp.resolve("no/such/dir/a.gguf");
        assertBadInput(Cli.run("export", "--model", model(), "--out", missing.toString()), missing.toString(), "does not exist");
        assertBadInput(Cli.run("export", "--model", model(), "--out", tmp.toString()), "is a directory");
        assertNothingWritten();
    }

    @Test
    void unsupportedArchitectureIsRejected() throws IOException {
        Path dir = tmp.resolve("mistral");
        Files.createDirectories(dir);
        for (String f : List.of("model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(Path.of(model()).resolve(f), dir.resolve(f));
        }
        Files.writeString(dir.resolve("config.json"), Files.readString(Path.of(model()).resolve("config.json"))
                .replace("\"llama\"", "\"mistral\"").replace("LlamaForCausalLM", "MistralForCausalLM"));
        // no sliding_window key: MistralConfig's default window of 4096, which llama.cpp's llama architecture lacks
        assertBadInput(Cli.run("export", "--model", dir.toString(), "--out", tmp.resolve("m.gguf").toString()),
                dir.toString(), "mistral", "sliding_window 4096");
        assertNothingWritten();
    }

    @Test
    void anAdapterThatCannotBeMergedIsRejectedAndNothingIsWritten() throws IOException {
        Path run = tmp.resolve("run");
        Cli.Run r = Cli.run("finetune", "--model", model(),
                "--data", Fixtures.require("data/tinystories/TinyStories-valid-excerpt.txt").toString(),
                "--text-mode", "whole-file", "--method", "prefix", "--max-steps", "1", "--batch-size", "2",
                "--seq-len", "32", "--val-split", "0", "--out", run.toString());
        assertEquals(0, r.code(), r.err());
        assertBadInput(Cli.run("export", "--model", model(), "--adapter", run.resolve("adapter").toString(),
                "--out", tmp.resolve("p.gguf").toString()), "prefix-tuning adapter cannot be merged");
        assertNothingWritten();
    }

    @Test
    void chatTemplateAndPadTokenComeFromTokenizerConfig() throws IOException {
        Path dir = tmp.resolve("chat");
        Files.createDirectories(dir);
        for (String f : List.of("model.safetensors", "tokenizer.json", "config.json")) {
            Files.copy(Path.of(model()).resolve(f), dir.resolve(f));
        }
        String template = "{% for m in messages %}<<{{ m['role'] }}: {{ m['content'] }}>>{% endfor %}";
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", "
                + "\"pad_token\": \"<unk>\", \"add_bos_token\": true, \"chat_template\": "
                + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(template) + "}");
        Path out = tmp.resolve("chat.gguf");
        Cli.Run r = Cli.run("export", "--model", dir.toString(), "--dtype", "f16", "--name", "my-chat", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        GgufReader g = new GgufReader(out);
        assertEquals(template, g.kv.get("tokenizer.chat_template"));
        assertEquals(0L, g.kv.get("tokenizer.ggml.padding_token_id"));
        assertEquals("my-chat", g.kv.get("general.name"));
        assertEquals(1L, g.kv.get("general.file_type"));
        assertFalse(new GgufReader(tmp.resolve("chat.gguf")).kv.containsKey("tokenizer.ggml.merges"));
    }
}
