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
        // the method's schema refuses the flag, and names the methods it does belong to
        assertTrue(r.err().contains("--modules-to-save is not a setting of method full"), r.err());
        assertTrue(r.err().contains("modulesToSave belongs to lora"), r.err());
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

    /** GSM8K in Alpaca layout: n training records, and the first 16 test records to validate on. */
    private Path[] gsm8k(int n) throws IOException {
        Path train = tmp.resolve("train.jsonl"), val = tmp.resolve("val.jsonl");
        Files.write(train, Files.readAllLines(Fixtures.require("data/gsm8k/train.jsonl")).subList(0, n));
        Files.write(val, Files.readAllLines(Fixtures.require("data/gsm8k/test.jsonl")).subList(0, 16));
        return new Path[] {train, val};
    }

    private String[] gsm8kArgs(Path[] data, Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("finetune", "--model", Fixtures.require("models/stories260K-hf").toString(),
                "--data", data[0].toString(), "--val-data", data[1].toString(), "--template", "alpaca", "--seq-len", "256",
                "--batch-size", "4", "--out", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    private static com.fasterxml.jackson.databind.JsonNode json(Path f) throws IOException {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(f.toFile());
    }

    @Test
    void aRunThatOverfitsKeepsAnEarlyStepAndEvalReproducesItsLoss() throws IOException {
        // four records at a high rate: validation loss falls for a few evaluations, then climbs far above the base
        Path[] data = gsm8k(4);
        Path out = tmp.resolve("best");
        CliTest.Run r = CliTest.run(gsm8kArgs(data, out, "--method", "full", "--max-steps", "60", "--lr", "1e-2",
                "--eval-every", "5"));
        assertEquals(0, r.code(), r.err());
        com.fasterxml.jackson.databind.JsonNode e = json(out.resolve("eval.json"));
        com.fasterxml.jackson.databind.JsonNode kept = e.get("kept");
        assertEquals("best", kept.get("select").asText());
        assertEquals(60, kept.get("last_step").asInt());
        assertTrue(kept.get("step").asInt() < 30, "an early step: " + kept);
        assertTrue(kept.get("last_val_loss").asDouble() > kept.get("best_val_loss").asDouble() + 1, kept.toString());
        assertEquals(kept.get("best_val_loss").asDouble(), e.get("after").get("loss").asDouble(), 0.0,
                "after measures the kept weights");
        assertTrue(kept.get("better_than_base").asBoolean(), kept.toString());
        assertTrue(r.err().contains("kept: step " + kept.get("step").asInt() + " of 60 (lowest validation loss)"), r.err());
        assertTrue(!Files.exists(out.resolve("best.safetensors")), "the kept weights' scratch copy is removed");

        // eval with the same data flags measures exactly the tokens finetune validated on, to the last digit
        CliTest.Run ev = CliTest.run("eval", "--model", out.resolve("model").toString(), "--data", data[1].toString(),
                "--template", "alpaca", "--seq-len", "256", "--batch-size", "4");
        assertEquals(0, ev.code(), ev.err());
        com.fasterxml.jackson.databind.JsonNode j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ev.out());
        assertEquals(e.get("after").get("loss").asDouble(), j.get("loss").asDouble(), 0.0);
        assertEquals(e.get("after").get("counts").get("loss_tokens").asInt(), j.get("counts").get("loss_tokens").asInt());

        // --select last keeps the overfitted weights and says plainly that they are worse than the base
        Path last = tmp.resolve("last");
        r = CliTest.run(gsm8kArgs(data, last, "--method", "full", "--max-steps", "60", "--lr", "1e-2", "--eval-every", "5",
                "--select", "last"));
        assertEquals(0, r.code(), r.err());
        kept = json(last.resolve("eval.json")).get("kept");
        assertEquals(60, kept.get("step").asInt());
        assertTrue(!kept.get("better_than_base").asBoolean(), kept.toString());
        assertTrue(r.err().contains("WARNING: the kept model is no better than the base model"), r.err());

        // early stopping ends the run once validation stops improving, and keeps the best step all the same
        Path early = tmp.resolve("early");
        r = CliTest.run(gsm8kArgs(data, early, "--method", "full", "--max-steps", "60", "--lr", "1e-2", "--eval-every", "5",
                "--early-stopping-patience", "2"));
        assertEquals(0, r.code(), r.err());
        com.fasterxml.jackson.databind.JsonNode ek = json(early.resolve("eval.json")).get("kept");
        assertTrue(ek.get("last_step").asInt() < 60, ek.toString());
        assertEquals(ek.get("last_step").asInt(), ek.get("step").asInt() + 10, "two evaluations without improvement");
    }

    @Test
    void loraAfterLossIsWhatEvalGivesOnTheAdapter() throws IOException {
        Path[] data = gsm8k(8);
        Path out = tmp.resolve("lora");
        CliTest.Run r = CliTest.run(gsm8kArgs(data, out, "--method", "lora", "--max-steps", "8", "--lr", "3e-2"));
        assertEquals(0, r.code(), r.err());
        double after = json(out.resolve("eval.json")).get("after").get("loss").asDouble();
        CliTest.Run ev = CliTest.run("eval", "--model", Fixtures.require("models/stories260K-hf").toString(), "--adapter",
                out.resolve("adapter").toString(), "--data", data[1].toString(), "--template", "alpaca", "--seq-len", "256",
                "--batch-size", "4");
        assertEquals(0, ev.code(), ev.err());
        assertEquals(after, new com.fasterxml.jackson.databind.ObjectMapper().readTree(ev.out()).get("loss").asDouble(), 0.0);
    }

    @Test
    void dataLossWarnsAndStrictDataStopsBeforeTraining() throws IOException {
        Path[] data = gsm8k(8);
        // cut from the end at 64 tokens, no GSM8K answer survives the Alpaca preamble and question
        String[] cut = gsm8kArgs(data, tmp.resolve("cut"), "--max-steps", "1", "--truncation", "right");
        for (int i = 0; i < cut.length; i++) if (cut[i].equals("256")) cut[i] = "64";
        List<String> strict = new java.util.ArrayList<>(List.of(cut));
        strict.add("--strict-data");
        CliTest.Run r = CliTest.run(strict.toArray(new String[0]));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--strict-data: "), r.err());
        assertTrue(r.err().contains("--truncation keep-response keeps each response whole"), r.err());
        assertTrue(!Files.exists(tmp.resolve("cut").resolve("metrics.jsonl")), "nothing trained");

        // the default keeps every answer: no warning about the training file
        String[] keep = gsm8kArgs(data, tmp.resolve("keep"), "--max-steps", "1");
        r = CliTest.run(keep);
        assertEquals(0, r.code(), r.err());
        assertTrue(!r.err().contains("warning: " + data[0]), r.err());
        assertTrue(r.err().contains("over-long (prompt start cut)"), r.err());
    }
}
