package io.tune4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `tune4j finetune` end to end on the stories260K model, and its errors before training. */
class FineTuneCommandTest {
    @TempDir
    Path tmp;

    private String[] args(Path out, String... extra) {
        String model = Fixtures.require("models/stories260K-hf").toString();
        String data = Fixtures.require("data/tinystories/TinyStories-valid-excerpt.txt").toString();
        List<String> a = new java.util.ArrayList<>(List.of("finetune", "--model", model, "--data", data, "--val-split", "0.1",
                "--text-mode", "whole-file", "--method", "lora", "--max-steps", "6", "--batch-size", "2", "--seq-len", "64",
                "--lr", "3e-3", "--checkpoint-every", "3", "--out", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void loraRunWritesEveryOutputAndItsRunFileReproducesIt() throws IOException {
        Path out = tmp.resolve("run");
        CliTest.Run r = CliTest.run(args(out));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"before\"") && r.out().contains("\"after\""), r.out());
        for (String f : List.of("adapter/adapter_config.json", "adapter/adapter_model.safetensors", "metrics.jsonl",
                "loss.png", "eval.json", "data-report.json", "run.yaml")) {
            assertTrue(Files.exists(out.resolve(f)), f + " missing in " + out);
        }
        assertTrue(Files.isDirectory(out.resolve("checkpoints")));
        assertEquals(6, Files.readAllLines(out.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"loss\"")).count());

        Path again = tmp.resolve("again");
        CliTest.Run r2 = CliTest.run("finetune", "--config", out.resolve("run.yaml").toString(), "--out", again.toString());
        assertEquals(0, r2.code(), r2.err());
        assertEquals(losses(out), losses(again), "same run file, same seed: the same loss curve");
    }

    @Test
    void modulesToSaveTrainTheNormsAndGoIntoTheRunFileAndAdapter() throws IOException {
        Path out = tmp.resolve("norms");
        CliTest.Run r = CliTest.run(args(out, "--modules-to-save", "norm"));
        assertEquals(0, r.code(), r.err());
        String runFile = Files.readString(out.resolve("run.yaml"));
        assertTrue(runFile.contains("modulesToSave:") && runFile.contains("- norm"), runFile);
        String config = Files.readString(out.resolve("adapter/adapter_config.json"));
        assertTrue(config.replaceAll("\\s", "").contains("\"modules_to_save\":[\"norm\"]"), config);
        Path again = tmp.resolve("norms-again");
        CliTest.Run r2 = CliTest.run("finetune", "--config", out.resolve("run.yaml").toString(), "--out", again.toString());
        assertEquals(0, r2.code(), r2.err());
        assertEquals(losses(out), losses(again), "same run file, same seed: the same loss curve");

        r = CliTest.run(args(tmp.resolve("bad1"), "--modules-to-save", "q_proj"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("modules_to_save entry 'q_proj'"), r.err());
        String[] full = args(tmp.resolve("bad2"), "--modules-to-save", "norm");
        for (int i = 0; i < full.length; i++) if (full[i].equals("lora")) full[i] = "full";
        r = CliTest.run(full);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("modulesToSave is a LoRA setting"), r.err());
        assertTrue(!Files.exists(tmp.resolve("bad1").resolve("metrics.jsonl")), "nothing trained");
    }

    private static List<String> losses(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream()
                .map(l -> l.replaceAll(".*\"loss\":([-0-9.Ee]+).*", "$1")).toList();
    }

    @Test
    void badSettingsFailBeforeTraining() {
        Path out = tmp.resolve("bad");
        CliTest.Run r = CliTest.run(args(out, "--lora-r", "0"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("r must be"), r.err());
        r = CliTest.run(args(out, "--target-modules", "qkv_proj"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("qkv_proj"), r.err());
        String[] longer = args(out);
        for (int i = 0; i < longer.length; i++) if (longer[i].equals("64")) longer[i] = "4096";
        r = CliTest.run(longer);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("context"), r.err());
        assertTrue(!Files.exists(out.resolve("metrics.jsonl")), "nothing trained");
    }

    @Test
    void anEmptyDatasetIsAClearError() throws IOException {
        Path data = tmp.resolve("empty.jsonl");
        Files.writeString(data, "{\"instruction\": \"\", \"input\": \"\", \"output\": \"\"}\n");
        CliTest.Run r = CliTest.run("finetune", "--model", Fixtures.require("models/stories260K-hf").toString(),
                "--data", data.toString(), "--max-steps", "2", "--out", tmp.resolve("e").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("no training examples"), r.err());
    }
}
