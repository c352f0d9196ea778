package io.tune4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.testing.Fixtures;
import io.tune4j.tokenizer.HfTokenizer;
import io.tune4j.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreprocessorTest {
    static Tokenizer tok;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        tok = HfTokenizer.load(Fixtures.require("models/stories260K-hf/tokenizer.json"));
    }

    @AfterAll
    static void close() {
        if (tok != null) tok.close();
    }

    /** One record per rule, in order: every rule of the report removes or changes exactly one. */
    private Path trainFile() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        String longOutput = "the cat sat on the mat and looked at the dog. ".repeat(8);
        for (String l : List.of(
                "{\"instruction\": \"Say hi\", \"output\": \"hi\"}",
                "{\"instruction\": \"Say hi\", \"output\": \"hi\"}",
                "{\"instruction\": \"say  HI!\", \"output\": \"Hi.\"}",
                "{\"instruction\": \"Empty\", \"output\": \"  \"}",
                "{\"instruction\": \"Long\", \"output\": \"" + longOutput + "\"}",
                "{\"instruction\": \"broken\", ",
                "{\"instruction\": \"no output\"}")) {
            b.writeBytes((l + "\n").getBytes(StandardCharsets.UTF_8));
        }
        b.writeBytes("{\"instruction\": \"bad \u00e9\", \"output\": \"x\"}\n".getBytes(StandardCharsets.ISO_8859_1));
        b.writeBytes(("{\"instruction\": \"In val\", \"output\": \"yes\"}\n"
                + "{\"instruction\": \"Fine\", \"output\": \"good\"}\n").getBytes(StandardCharsets.UTF_8));
        return Files.write(tmp.resolve("train.jsonl"), b.toByteArray());
    }

    private static Map<String, int[]> rules(DataReport.SourceReport s) {
        Map<String, int[]> m = new LinkedHashMap<>();
        for (DataReport.RuleCount r : s.rules()) m.put(r.rule(), new int[] {r.before(), r.after(), r.affected()});
        return m;
    }

    private static String str(Map<String, int[]> m) {
        return m.entrySet().stream().map(e -> e.getKey() + "=" + java.util.Arrays.toString(e.getValue()))
                .collect(Collectors.joining(", "));
    }

    @Test
    void everyRuleIsCountedInTheReport() throws IOException {
        Path val = Files.writeString(tmp.resolve("val.jsonl"),
                "{\"instruction\": \"in val\", \"output\": \"Yes.\"}\n{\"instruction\": \"Other\", \"output\": \"z\"}\n");
        PrepareOptions o = PrepareOptions.defaults(48).withSkipBadRecords(true);
        PreparedDataset d = new Preprocessor(tok, FieldMapping.auto(), new RawTemplate(), null, o).prepare(trainFile(), val);
        DataReport r = d.report();
        DataReport.SourceReport s = r.sources().get(0);
        assertEquals(10, s.records());
        assertEquals(Map.of("invalid UTF-8", 1, "malformed record", 1, "missing field", 1), s.badRecords());
        Map<String, int[]> m = rules(s);
        String all = str(m);
        assertEquals("[10, 8, 2]", java.util.Arrays.toString(m.get("unreadable (UTF-8, syntax)")), all);
        assertEquals("[8, 7, 1]", java.util.Arrays.toString(m.get("missing or mistyped fields")), all);
        assertEquals("[7, 6, 1]", java.util.Arrays.toString(m.get("empty fields")), all);
        assertEquals("[6, 5, 1]", java.util.Arrays.toString(m.get("exact duplicates")), all);
        assertEquals("[5, 4, 1]", java.util.Arrays.toString(m.get("near duplicates")), all);
        assertEquals("[4, 4, 1]", java.util.Arrays.toString(m.get("over-long (prompt start cut)")), all);
        assertEquals("[4, 4, 0]", java.util.Arrays.toString(m.get("nothing to train on")), all);
        assertEquals(new DataReport.RuleCount("also in validation", 4, 3, 1), r.overlap());
        assertEquals(3, d.train().size());
        assertEquals(2, d.validation().size());
        assertEquals("file", r.split().mode());
        for (TokenizedExample x : d.train()) assertTrue(x.length() <= 48);
        assertTrue(s.badRecordMessages().contains(tmp.resolve("train.jsonl") + ":7: field 'output' missing (expected a string)"),
                s.badRecordMessages().toString());
        assertTrue(s.badRecordMessages().contains(tmp.resolve("train.jsonl")
                + ":8: invalid UTF-8 (malformed byte sequence; expected UTF-8 text)"), s.badRecordMessages().toString());

        // report.json round-trips and the summary names every rule
        ObjectMapper json = new ObjectMapper();
        assertEquals(r, json.readValue(json.writeValueAsBytes(r), DataReport.class));
        String summary = r.summary();
        for (String rule : m.keySet()) assertTrue(summary.contains(rule), rule + " missing from\n" + summary);
        assertTrue(summary.contains("also in validation"), summary);
    }

    @Test
    void overLongExamplesCanBeDropped() throws IOException {
        PrepareOptions o = PrepareOptions.defaults(48).withSkipBadRecords(true).withTruncation(Truncation.DROP);
        PreparedDataset d = new Preprocessor(tok, FieldMapping.auto(), new RawTemplate(), null, o).prepare(trainFile(), null);
        Map<String, int[]> m = rules(d.report().sources().get(0));
        assertEquals("[4, 3, 1]", java.util.Arrays.toString(m.get("over-long (dropped)")), str(m));
        assertEquals(3, d.train().size());
    }

    /** The case: long dialogues to summarise, short answers after them. */
    private Path summaries(int n) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append("{\"instruction\": \"Summarise the dialogue.\", \"input\": \"")
                    .append(("Tom said hi to Lily number " + i + ". Lily said hello back and they went to the park. ").repeat(3))
                    .append("\", \"output\": \"Tom and Lily went to the park " + i + ".\"}\n");
        }
        return Files.writeString(tmp.resolve("summaries.jsonl"), b);
    }

    @Test
    void keepResponseKeepsEveryAnswerThatRightTruncationLoses() throws IOException {
        Path f = summaries(12);
        PrepareOptions keep = PrepareOptions.defaults(48);
        PreparedDataset kept = new Preprocessor(tok, FieldMapping.auto(), new AlpacaTemplate(), null, keep).prepare(f, null);
        DataReport.Coverage c = kept.report().sources().get(0).coverage();
        assertEquals(12, c.records());
        assertEquals(12, c.examples());
        assertEquals(c.responseTokens(), c.responseTokensKept());
        assertEquals(0, c.responsesCut());
        assertTrue(c.lengthP95() > 48, "p95 " + c.lengthP95());
        assertEquals(List.of(), kept.report().warnings());
        for (TokenizedExample x : kept.train()) assertTrue(x.length() <= 48);

        PrepareOptions right = keep.withTruncation(Truncation.RIGHT);
        DataReport r = new Preprocessor(tok, FieldMapping.auto(), new AlpacaTemplate(), null, right).prepare(f, null).report();
        DataReport.Coverage rc = r.sources().get(0).coverage();
        assertEquals(0, rc.examples(), "cut from the end, no answer survives: nothing to train on");
        assertEquals(1, r.warnings().size(), r.warnings().toString());
        String w = r.warnings().get(0);
        assertTrue(w.contains("12 of 12 records (100.0%) are not trained on"), w);
        assertTrue(w.contains("--truncation keep-response keeps each response whole"), w);
        assertTrue(w.contains("--seq-len " + rc.lengthP95() + " fits 95% of the examples"), w);
        assertTrue(r.summary().contains("warning: " + w), r.summary());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> DataLoss.requireNone(r));
        assertEquals("--strict-data: " + w, e.getMessage());
        DataLoss.requireNone(kept.report());
    }

    @Test
    void keepResponseStillKeepsTheAnswerWhenThePromptIsTrainedOn() throws IOException {
        Path f = summaries(4);
        PrepareOptions o = PrepareOptions.defaults(48).withTrainOnPrompt(true);
        PreparedDataset d = new Preprocessor(tok, FieldMapping.auto(), new AlpacaTemplate(), null, o).prepare(f, null);
        DataReport.Coverage c = d.report().sources().get(0).coverage();
        assertEquals(c.responseTokens(), c.responseTokensKept(), "response tokens, not prompt tokens, are counted and kept");
        assertEquals(0, c.responsesCut());
        for (TokenizedExample x : d.train()) {
            String text = tok.decode(x.ids());
            assertTrue(text.contains("went to the park"), text);
            // every token after BOS is trained on, the cut prompt part included
            long trained = java.util.Arrays.stream(x.labels()).filter(l -> l != TokenizedExample.IGNORE).count();
            assertEquals(x.length() - 1, trained);
        }
    }

    @Test
    void aResponseLongerThanTheSequenceIsCutAtTheEndAndCounted() throws IOException {
        Path f = Files.writeString(tmp.resolve("long.jsonl"), "{\"instruction\": \"Tell\", \"output\": \""
                + "the cat sat on the mat and looked at the dog. ".repeat(8) + "\"}\n{\"instruction\": \"Say\", \"output\": \"hi\"}\n");
        DataReport r = new Preprocessor(tok, FieldMapping.auto(), new RawTemplate(), null, PrepareOptions.defaults(32))
                .prepare(f, null).report();
        DataReport.Coverage c = r.sources().get(0).coverage();
        assertEquals(2, c.examples());
        assertEquals(1, c.responsesCut());
        assertTrue(c.responseTokensKept() < c.responseTokens());
        assertTrue(r.warnings().get(0).contains("1 responses cut at the end"), r.warnings().toString());
    }

    @Test
    void badRecordStopsPreparationUnlessSkipped() throws IOException {
        Path f = trainFile();
        DataFormatException e = org.junit.jupiter.api.Assertions.assertThrows(DataFormatException.class,
                () -> new Preprocessor(tok, FieldMapping.auto(), new RawTemplate(), null, PrepareOptions.defaults(48)).prepare(f, null));
        assertTrue(e.getMessage().startsWith(f + ":6: malformed JSON"), e.getMessage());
    }

    @Test
    void splitIsDeterministicBySeed() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 100; i++) sb.append("{\"text\": \"story number ").append(i).append(" about a dog\"}\n");
        Path f = Files.writeString(tmp.resolve("t.jsonl"), sb.toString());
        PrepareOptions o = PrepareOptions.defaults(64).withValFraction(0.2, 7);
        PreparedDataset a = new Preprocessor(tok, FieldMapping.auto(), null, null, o).prepare(f, null);
        PreparedDataset b = new Preprocessor(tok, FieldMapping.auto(), null, null, o).prepare(f, null);
        assertEquals(80, a.train().size());
        assertEquals(20, a.validation().size());
        assertEquals(ids(a.validation()), ids(b.validation()));
        assertEquals(ids(a.train()), ids(b.train()));
        assertEquals(new DataReport.SplitReport("fraction", 0.2, 7, 80, 20), a.report().split());
        assertEquals("none", a.report().template(), "text defaults to no template");

        PreparedDataset c = new Preprocessor(tok, FieldMapping.auto(), null, null, o.withValFraction(0.2, 8)).prepare(f, null);
        assertNotEquals(ids(a.validation()), ids(c.validation()));

        BitSet s1 = Preprocessor.splitIndices(1000, 0.1, 42), s2 = Preprocessor.splitIndices(1000, 0.1, 42);
        assertEquals(s1, s2);
        assertEquals(100, s1.cardinality());
        assertEquals(1, Preprocessor.splitIndices(5, 0.01, 1).cardinality(), "a non-zero fraction keeps at least one");
    }

    @Test
    void wholeFileTextIsCutIntoSequences() throws IOException {
        Path f = Files.writeString(tmp.resolve("book.txt"), "Once upon a time there was a little dog.\n\n".repeat(30));
        PrepareOptions o = PrepareOptions.defaults(32).withFormat(null, TextMode.WHOLE_FILE);
        PreparedDataset d = new Preprocessor(tok, FieldMapping.auto(), null, null, o).prepare(f, null);
        assertTrue(d.train().size() > 5, "chunks: " + d.train().size());
        for (int i = 0; i < d.train().size() - 1; i++) assertEquals(32, d.train().get(i).length());
        Map<String, int[]> m = rules(d.report().sources().get(0));
        assertEquals(1, m.get("over-long (split)")[2], str(m));
    }

    private static List<List<Integer>> ids(List<TokenizedExample> xs) {
        return xs.stream().map(x -> java.util.Arrays.stream(x.ids()).boxed().toList()).toList();
    }
}
