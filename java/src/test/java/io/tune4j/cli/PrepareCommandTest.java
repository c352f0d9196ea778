package io.tune4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.data.DatasetCache;
import io.tune4j.data.TokenizedExample;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `tune4j prepare` end to end on SST-2 with the stories260K tokenizer. */
class PrepareCommandTest {
    @TempDir
    Path tmp;

    @Test
    void preparesSst2AndReusesIt() throws IOException {
        Path model = Fixtures.require("models/stories260K-hf");
        Path train = Fixtures.require("data/sst2/train.tsv"), dev = Fixtures.require("data/sst2/dev.tsv");
        Path out = tmp.resolve("sst2");
        String[] args = {"prepare", "--model", model.toString(), "--data", train.toString(), "--val-data", dev.toString(),
                "--label-map", "0=negative,1=positive", "--template", "alpaca", "--seq-len", "256", "--out", out.toString()};
        long t0 = System.nanoTime();
        CliTest.Run r = CliTest.run(args);
        long firstMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("records: label, template: alpaca, sequence length: 256"), r.out());
        assertTrue(r.out().contains("written to " + out), r.out());

        JsonNode report = new ObjectMapper().readTree(out.resolve(DatasetCache.REPORT).toFile());
        assertEquals(60614, report.at("/sources/0/records").asInt());
        assertEquals("validation", report.at("/sources/1/role").asText());
        int trainExamples = report.at("/train/examples").asInt();
        int valExamples = report.at("/validation/examples").asInt();
        assertTrue(trainExamples > 50_000 && trainExamples < 60614, "train " + trainExamples);
        assertTrue(valExamples > 0, "validation " + valExamples);
        assertTrue(report.at("/overlap/before").asInt() >= trainExamples);
        assertTrue(Files.readString(out.resolve(DatasetCache.SUMMARY)).contains("near duplicates"));

        List<TokenizedExample> xs = DatasetCache.readExamples(out.resolve(DatasetCache.TRAIN), null);
        assertEquals(trainExamples, xs.size());
        for (TokenizedExample x : xs.subList(0, 100)) {
            assertTrue(x.length() <= 256);
            assertEquals(2, x.ids()[x.length() - 1], "ends in EOS");
            assertEquals(TokenizedExample.IGNORE, x.labels()[1], "prompt masked");
        }

        t0 = System.nanoTime();
        CliTest.Run again = CliTest.run(args);
        long secondMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("unchanged, reused " + out), again.out());
        System.out.println("prepare SST-2: " + firstMs + " ms, cached: " + secondMs + " ms");
        assertTrue(secondMs < firstMs, "cache hit " + secondMs + " ms vs first run " + firstMs + " ms");
    }

    @Test
    void badRecordIsOneLineWithFileAndLine() throws IOException {
        Path model = Fixtures.require("models/stories260K-hf");
        Path data = Files.writeString(tmp.resolve("d.jsonl"),
                "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\"}\n");
        CliTest.Run r = CliTest.run("prepare", "--model", model.toString(), "--data", data.toString(), "--out",
                tmp.resolve("o").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals("tune4j: error: " + data + ":2: field 'output' missing (expected a string)", r.err().strip());

        CliTest.Run skipped = CliTest.run("prepare", "--model", model.toString(), "--data", data.toString(), "--out",
                tmp.resolve("o").toString(), "--skip-bad-records");
        assertEquals(0, skipped.code(), skipped.err());
        assertTrue(skipped.out().contains("1 bad records skipped {missing field=1}"), skipped.out());
    }
}
