package io.tune4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ./tune4j eval end to end on stories260K: one JSON object on stdout. */
class EvalCommandTest {
    @TempDir
    Path tmp;

    private static JsonNode json(CliTest.Run r) throws Exception {
        assertEquals(0, r.code(), r.err());
        String out = r.out().strip();
        assertEquals(1, out.lines().count(), "one line: " + out);
        JsonNode j = new ObjectMapper().readTree(out);
        assertTrue(j.isObject(), out);
        return j;
    }

    @Test
    void jsonlWithGenerationMetrics() throws Exception {
        Path data = tmp.resolve("val.jsonl");
        Files.writeString(data, """
                {"prompt": "Once upon a time", "reference": ", there was a little girl named Lily."}
                {"prompt": "Tom had a red ball.", "reference": " He liked to play with it."}
                {"prompt": "The cat sat", "reference": " on the mat.", "options": [" on the mat.", " in the sky."]}
                """);
        String model = Fixtures.require("models/stories260K-hf").toString();
        JsonNode j = json(CliTest.run("eval", "--model", model, "--data", data.toString(),
                "--metric", "exact_match,rouge_l,bleu,accuracy", "--max-tokens", "12", "--stop", "."));
        for (String k : new String[] {"loss", "perplexity", "exact_match", "rouge_l", "bleu", "accuracy", "majority_baseline"}) {
            assertTrue(j.has(k) && j.get(k).isNumber(), k + " missing from " + j);
        }
        assertTrue(j.get("perplexity").asDouble() > 1);
        assertEquals(3, j.get("counts").get("examples").asInt());
        assertEquals(3, j.get("counts").get("generated_examples").asInt());
    }

    @Test
    void sst2WithLimitReportsLossPerplexityAndAccuracy() throws Exception {
        String model = Fixtures.require("models/stories260K-hf").toString();
        String dev = Fixtures.require("data/sst2/dev.tsv").toString();
        JsonNode j = json(CliTest.run("eval", "--model", model, "--data", dev, "--metric", "accuracy,accuracy_generate",
                "--limit", "6"));
        assertEquals(6, j.get("counts").get("label_examples").asInt());
        for (String k : new String[] {"loss", "perplexity", "accuracy", "accuracy_generate", "majority_baseline"}) {
            assertTrue(j.has(k), k + " missing from " + j);
        }
    }

    @Test
    void badInputExitsTwoWithOneLine() throws Exception {
        String model = Fixtures.require("models/stories260K-hf").toString();
        Path data = tmp.resolve("v.jsonl");
        Files.writeString(data, "{\"text\": \"hello\"}\n");
        CliTest.Run r = CliTest.run("eval", "--model", model, "--data", data.toString(), "--metric", "loss,wer");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown metric 'wer'"), r.err());
        r = CliTest.run("eval", "--model", model, "--data", data.toString(), "--adapter", tmp.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no adapter_config.json"), r.err());
        assertEquals("", r.out());
        r = CliTest.run("eval", "--model", model, "--data", data.toString(), "--metric", "accuracy");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("metric accuracy needs label examples"), r.err());
        r = CliTest.run("eval", "--model", model, "--data", tmp.resolve("missing.jsonl").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("missing.jsonl: no such file"), r.err());
    }
}
