package io.tune4j.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's whole path at a few steps per run, and its SST-2 run at full length (about 90 s on 2 cores). */
class DemoTest {
    @TempDir
    Path tmp;

    @Test
    void everyRunProducesItsResultAndReport() {
        Path fixtures = Fixtures.require("models/stories260K-hf").getParent().getParent();
        Fixtures.require("data/sst2/train.tsv");
        Fixtures.require("data/shakespeare/input.txt");
        Demo demo = new Demo(fixtures, tmp, new PrintStream(new ByteArrayOutputStream()), 1);
        List<Demo.Row> rows = demo.run();
        assertEquals(List.of("lora", "full", "adapter", "prefix"), rows.stream().map(Demo.Row::method).toList());
        for (Demo.Row r : rows) {
            assertTrue(Double.isFinite(r.before()) && Double.isFinite(r.after()), r.toString());
            assertTrue(Files.isDirectory(r.result()), r.toString());
            Path run = r.result().getParent();
            for (String f : List.of("eval.json", "loss.png", "metrics.jsonl", "data-report.json", "run.yaml")) {
                assertTrue(Files.exists(run.resolve(f)), f + " in " + run);
            }
        }
        Demo.Row full = rows.get(1);
        assertTrue(full.after() < full.before(), "even a few full fine-tuning steps lower Shakespeare perplexity: " + full);
        assertTrue(Double.isFinite(rows.get(0).baseline()), "the label task reports its majority baseline");
        assertTrue(Demo.table(rows).contains("SST-2 sentiment"));
        String text = demo.sample(full.result(), "ROMEO:", 10);
        assertTrue(!text.isEmpty());
    }

    @Test
    void fullLengthSentimentRunBeatsTheMajorityClassClearly() {
        Path fixtures = Fixtures.require("models/stories260K-hf").getParent().getParent();
        Fixtures.require("data/sst2/train.tsv");
        Demo.Row r = new Demo(fixtures, tmp, new PrintStream(new ByteArrayOutputStream()), 100).sentiment();
        // measured 73.4% against a 57.3% majority class (base model 42.7%)
        assertTrue(r.after() >= r.baseline() + 0.08, "dev accuracy at least 8 points over the majority class: " + r);
        assertTrue(r.after() > r.before() + 0.2, r.toString());
    }
}
