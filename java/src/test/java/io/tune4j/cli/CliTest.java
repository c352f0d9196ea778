package io.tune4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI contract: what goes to stdout, and one-line errors with exit code 2 on bad input. */
class CliTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private Path copyOfHfModel() throws IOException {
        Path src = Fixtures.require("models/stories260K-hf");
        Path dst = tmp.resolve("model");
        Files.createDirectories(dst);
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.copy(f, dst.resolve(f.getFileName()));
        }
        return dst;
    }

    private static void assertBadInput(Run r, String... mustContain) {
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        assertEquals("", r.out(), "nothing on stdout");
        String err = r.err().strip();
        assertTrue(err.startsWith("tune4j: error: "), err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        for (String s : mustContain) assertTrue(err.contains(s), "'" + s + "' missing from: " + err);
    }

    @Test
    void generatePrintsOnlyTheContinuation() {
        Path model = Fixtures.require("models/stories260K-hf");
        Run r = run("generate", "--model", model.toString(), "--prompt", "Once upon a time", "--max-tokens", "20");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith(", there was a little girl named Lily."), r.out());
        assertEquals(1, r.out().strip().lines().count());
    }

    @Test
    void generateFromALlama2cCheckpointWithExplicitTokenizer() {
        Path bin = Fixtures.require("models/stories260K/stories260K.bin");
        Run r = run("generate", "--model", bin.toString(), "--tokenizer", bin.resolveSibling("tok512.bin").toString(),
                "--prompt", "Once upon a time", "--max-tokens", "20", "--temperature", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith(", there was a little girl named Lily."), r.out());
    }

    @Test
    void infoDescribesTheModel() {
        Run r = run("info", "--model", Fixtures.require("models/stories260K-hf").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("parameters:   260,032"), r.out());
        assertTrue(r.out().contains("heads:        8 (key/value heads: 4"), r.out());
        assertTrue(r.out().contains("tokenizer.json"), r.out());
        assertTrue(r.out().contains("dtype:        F32"), r.out());
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : new String[] {"info", "generate"}) {
            Run r = run(cmd, "--help");
            assertEquals(0, r.code());
            assertTrue(r.out().contains("--model"), r.out());
        }
    }

    @Test
    void missingModel() {
        Path missing = tmp.resolve("nope");
        assertBadInput(run("info", "--model", missing.toString()), missing.toString());
    }

    @Test
    void truncatedSafetensors() throws IOException {
        Path m = copyOfHfModel();
        Path st = m.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(st.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        assertBadInput(run("generate", "--model", m.toString(), "--prompt", "hi"), st.toString());
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        Path m = copyOfHfModel();
        Path st = m.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(st.toFile(), "rw")) {
            f.seek(0);
            f.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 0, 0, 0, 0});
        }
        assertBadInput(run("info", "--model", m.toString()), st.toString(), "header");
    }

    @Test
    void unknownArchitecture() throws IOException {
        Path m = copyOfHfModel();
        Path cfg = m.resolve("config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"llama\"", "\"gpt2\"")
                .replace("LlamaForCausalLM", "GPT2LMHeadModel"));
        assertBadInput(run("info", "--model", m.toString()), cfg.toString(), "gpt2", "llama, mistral, qwen2, qwen3, gemma2, gemma3_text, phi3");
    }

    @Test
    void configFieldMissing() throws IOException {
        Path m = copyOfHfModel();
        Path cfg = m.resolve("config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"hidden_size\": 64,", ""));
        assertBadInput(run("info", "--model", m.toString()), cfg.toString(), "hidden_size");
    }

    @Test
    void promptLongerThanTheContext() {
        String prompt = "the cat sat on the mat. ".repeat(200);
        assertBadInput(run("generate", "--model", Fixtures.require("models/stories260K-hf").toString(),
                "--prompt", prompt), "context");
    }

    @Test
    void invalidSamplingArguments() {
        String model = Fixtures.require("models/stories260K-hf").toString();
        assertBadInput(run("generate", "--model", model, "--prompt", "hi", "--top-p", "1.5"), "top-p");
        assertBadInput(run("generate", "--model", model, "--prompt", "hi", "--temperature", "-1"), "temperature");
        assertBadInput(run("generate", "--model", model, "--prompt", "hi", "--weights", "bf8"), "--weights");
    }

    @Test
    void generateFromBf16WeightsTellsTheSameStory() {
        Path model = Fixtures.require("models/stories260K-hf");
        Run r = run("generate", "--model", model.toString(), "--prompt", "Once upon a time", "--max-tokens", "20",
                "--weights", "bf16");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("decoding from bf16 weights"), r.err());
        assertTrue(r.out().startsWith(", there was a little girl named Lily."), r.out());
    }

    @Test
    void unknownOptionIsAUsageError() {
        Run r = run("generate", "--model", "x", "--prompt", "hi", "--frobnicate");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--frobnicate"), r.err());
    }
}
