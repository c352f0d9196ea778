package io.tune4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalDataReaderTest {
    @TempDir
    Path tmp;

    @Test
    void sst2DevBecomesATwoOptionSentimentTask() throws IOException {
        Path dev = Fixtures.require("data/sst2/dev.tsv");
        List<EvalExample> all = EvalDataReader.read(dev, 0);
        assertEquals(Files.readAllLines(dev).stream().skip(1).filter(l -> !l.isBlank()).count(), all.size());
        EvalExample first = EvalDataReader.read(dev, 1).get(0);
        String[] line = Files.readAllLines(dev).get(1).split("\t");
        assertEquals("Review: " + line[0].strip() + "\nSentiment:", first.prompt());
        assertEquals(List.of(" negative", " positive"), first.options());
        assertEquals(Integer.parseInt(line[1].strip()), first.goldIndex());
    }

    @Test
    void jsonlRecordsOfEveryShape() throws IOException {
        Path f = tmp.resolve("d.jsonl");
        Files.writeString(f, """
                {"prompt": "Q: 2+2?\\nA:", "reference": " 4"}

                {"prompt": "Is it?", "reference": " yes", "options": [" yes", " no"]}
                {"prompt": "Pick", "options": ["a", "b", "c"], "label": 2}
                {"text": "just text"}
                {"question": "How many?", "answer": "3 + 4 = 7\\n#### 7"}
                """);
        List<EvalExample> ex = EvalDataReader.read(f, 0);
        assertEquals(5, ex.size());
        assertEquals(new EvalExample("Q: 2+2?\nA:", " 4"), ex.get(0));
        assertEquals(0, ex.get(1).goldIndex());
        assertEquals("c", ex.get(2).reference());
        assertEquals(new EvalExample("", "just text"), ex.get(3));
        assertEquals("How many?", ex.get(4).prompt());
        assertEquals(2, EvalDataReader.read(f, 2).size());
    }

    @Test
    void gsm8kFixtureReads() throws IOException {
        List<EvalExample> ex = EvalDataReader.read(Fixtures.require("data/gsm8k/test.jsonl"), 3);
        assertEquals(3, ex.size());
        assertEquals("18", NumericAnswer.extract(ex.get(0).reference()));
    }

    @Test
    void badRecordsNameFileLineAndField() throws IOException {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, "{\"prompt\": \"p\", \"reference\": \"r\"}\n{\"prompt\": \"p\"}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EvalDataReader.read(f, 0));
        assertTrue(e.getMessage().startsWith(f + ":2: field 'reference' is missing"), e.getMessage());
        Files.writeString(f, "{\"prompt\": \"p\", \"reference\": \"x\", \"options\": [\"a\", \"b\"]}\n");
        e = assertThrows(IllegalArgumentException.class, () -> EvalDataReader.read(f, 0));
        assertTrue(e.getMessage().startsWith(f + ":1: reference 'x' is not one of the options"), e.getMessage());
        Files.writeString(f, "not json\n");
        e = assertThrows(IllegalArgumentException.class, () -> EvalDataReader.read(f, 0));
        assertTrue(e.getMessage().startsWith(f + ":1: not a JSON object"), e.getMessage());
        Path tsv = tmp.resolve("bad.tsv");
        Files.writeString(tsv, "sentence\tlabel\ngood movie\t1\nbad movie\tmaybe\n");
        e = assertThrows(IllegalArgumentException.class, () -> EvalDataReader.read(tsv, 0));
        assertEquals(tsv + ":3: expected sentence<TAB>label with label 0 or 1", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EvalDataReader.read(tmp.resolve("x.csv"), 0));
    }
}
