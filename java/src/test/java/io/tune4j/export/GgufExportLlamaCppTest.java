package io.tune4j.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import io.tune4j.tokenizer.HfTokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Exports run by the real llama.cpp (java-llama.cpp 4.2.0's bundled CPU build): its greedy text
 * must be tune4j's. On stories260K every dtype, q8_0 included, reproduces all 60 greedy tokens; a
 * wrong q/k row order garbles the text after a few words, so equality is a sharp check.
 */
class GgufExportLlamaCppTest {
    static final String PROMPT = "Once upon a time";
    static final int TOKENS = 60;

    @TempDir
    Path tmp;

    private Path export(String... args) {
        Path out = tmp.resolve("model-" + System.nanoTime() + ".gguf");
        String[] a = new String[args.length + 3];
        a[0] = "export";
        System.arraycopy(args, 0, a, 1, args.length);
        a[args.length + 1] = "--out";
        a[args.length + 2] = out.toString();
        Cli.Run r = Cli.run(a);
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.out(), "export prints nothing on stdout");
        return out;
    }

    private static String hfModel() {
        return Fixtures.require("models/stories260K-hf").toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"f32", "f16", "bf16", "q8_0"})
    void llamaCppGeneratesTune4jsGreedyText(String dtype) {
        String expected = Cli.greedy(PROMPT, TOKENS, "--model", hfModel());
        assertTrue(expected.startsWith(", there was a little girl named Lily. She loved to play outside in the park."),
                expected);
        Path gguf = export("--model", hfModel(), "--dtype", dtype);
        try (LlamaCpp l = new LlamaCpp(gguf)) {
            assertEquals(expected, l.greedy(PROMPT, TOKENS), dtype + "\n" + LlamaCpp.log());
        }
    }

    @Test
    void llamaCppTokenizesAsTune4jDoes() {
        Path gguf = export("--model", hfModel(), "--dtype", "f32");
        List<String> texts = List.of("Once upon a time", "The little dog ran to the park and played with a ball.",
                " two  spaces and\nnew lines\n\n", "naïve café, 東京 and emoji 🙂", "1234567 + 89 = ?", "Lily's mom said: \"No!\"");
        try (LlamaCpp l = new LlamaCpp(gguf);
             HfTokenizer t = HfTokenizer.load(Path.of(hfModel()).resolve("tokenizer.json"))) {
            for (String s : texts) assertArrayEquals(t.encode(s, false), l.encode(s), s);
        }
    }

    @Test
    void llama2cCheckpointExportsWithItsTokenizerBin() {
        Path bin = Fixtures.require("models/stories260K/stories260K.bin");
        String expected = Cli.greedy(PROMPT, TOKENS, "--model", bin.toString());
        Path gguf = export("--model", bin.toString(), "--dtype", "f32");
        try (LlamaCpp l = new LlamaCpp(gguf)) {
            assertEquals(expected, l.greedy(PROMPT, TOKENS), LlamaCpp.log());
        }
    }

    @Test
    void mergedLoraGeneratesWhatTune4jGeneratesWithTheAdapter() {
        Path run = tmp.resolve("run");
        // 12 steps on Shakespeare move the greedy story away from the base model's (", ... named Abbie. And all as rest.")
        Cli.Run r = Cli.run("finetune", "--model", hfModel(),
                "--data", Fixtures.require("data/shakespeare/input.txt").toString(), "--text-mode", "whole-file",
                "--method", "lora", "--target-modules", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
                "--max-steps", "12", "--batch-size", "4", "--seq-len", "64", "--lr", "5e-3", "--val-split", "0",
                "--out", run.toString());
        assertEquals(0, r.code(), r.err());
        Path adapter = run.resolve("adapter");
        String base = Cli.greedy(PROMPT, TOKENS, "--model", hfModel());
        String tuned = Cli.greedy(PROMPT, TOKENS, "--model", hfModel(), "--adapter", adapter.toString());
        assertNotEquals(base, tuned, "the adapter must change the greedy text for this test to mean anything");
        Path gguf = export("--model", hfModel(), "--adapter", adapter.toString(), "--dtype", "f32");
        try (LlamaCpp l = new LlamaCpp(gguf)) {
            assertEquals(tuned, l.greedy(PROMPT, TOKENS), LlamaCpp.log());
        }

        // the adapter alone, applied by llama.cpp over the base model's GGUF
        Path lora = export("--model", hfModel(), "--adapter", adapter.toString(), "--lora-only", "--dtype", "f32");
        Path base32 = export("--model", hfModel(), "--dtype", "f32");
        try (LlamaCpp l = new LlamaCpp(base32, lora)) {
            assertEquals(tuned, l.greedy(PROMPT, TOKENS), LlamaCpp.log());
        }
    }

    @Test
    void mergedExportCarriesModulesToSaveAndLoraOnlyRefusesThem() {
        Path run = tmp.resolve("run-norm");
        Cli.Run r = Cli.run("finetune", "--model", hfModel(),
                "--data", Fixtures.require("data/shakespeare/input.txt").toString(), "--text-mode", "whole-file",
                "--method", "lora", "--modules-to-save", "norm", "--max-steps", "12", "--batch-size", "4",
                "--seq-len", "64", "--lr", "5e-3", "--val-split", "0", "--out", run.toString());
        assertEquals(0, r.code(), r.err());
        Path adapter = run.resolve("adapter");
        String tuned = Cli.greedy(PROMPT, TOKENS, "--model", hfModel(), "--adapter", adapter.toString());
        assertNotEquals(Cli.greedy(PROMPT, TOKENS, "--model", hfModel()), tuned);
        Path gguf = export("--model", hfModel(), "--adapter", adapter.toString(), "--dtype", "f32");
        try (LlamaCpp l = new LlamaCpp(gguf)) {
            assertEquals(tuned, l.greedy(PROMPT, TOKENS), LlamaCpp.log());
        }
        Path lora = tmp.resolve("norm-lora.gguf");
        Cli.Run bad = Cli.run("export", "--model", hfModel(), "--adapter", adapter.toString(), "--lora-only",
                "--out", lora.toString());
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("modules_to_save") && bad.err().contains("without --lora-only"), bad.err());
        assertTrue(!java.nio.file.Files.exists(lora));
    }
}
