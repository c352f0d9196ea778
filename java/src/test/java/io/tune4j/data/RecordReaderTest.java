package io.tune4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordReaderTest {
    @TempDir
    Path tmp;

    private static List<RawRecord> read(Path f) {
        return RecordReader.read(f, null, TextMode.PARAGRAPHS, new BadRecords(false));
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(tmp.resolve(name), content);
    }

    private Path writeBytes(String name, byte[] content) throws IOException {
        return Files.write(tmp.resolve(name), content);
    }

    @Test
    void alpacaJsonIsRecognisedWithoutFlags() {
        Path f = Fixtures.require("data/alpaca/alpaca_en_demo.json");
        List<RawRecord> rs = read(f);
        assertEquals(999, rs.size());
        assertEquals(2, rs.get(0).line(), "the first object opens on line 2");
        FieldMapping m = FieldMapping.auto().resolve(rs.get(0));
        assertEquals(FieldMapping.Kind.ALPACA, m.kind());
        Example.Instruction e = (Example.Instruction) m.toExample(rs.get(0));
        assertEquals("Describe a process of making crepes.", e.instruction());
        assertEquals("", e.input());
        assertTrue(e.output().startsWith("Making crepes is an easy and delicious process!"));
        for (RawRecord r : rs) m.toExample(r); // every record maps
    }

    @Test
    void gsm8kJsonlMapsQuestionAnswerToPromptCompletion() {
        List<RawRecord> rs = read(Fixtures.require("data/gsm8k/train.jsonl"));
        assertEquals(7473, rs.size());
        assertEquals(7473, rs.get(7472).line());
        FieldMapping m = FieldMapping.auto().resolve(rs.get(0));
        assertEquals(FieldMapping.Kind.PROMPT_COMPLETION, m.kind());
        Example.Instruction e = (Example.Instruction) m.toExample(rs.get(0));
        assertTrue(e.instruction().startsWith("Natalia sold clips to 48 of her friends"));
        assertTrue(e.output().endsWith("#### 72"));
    }

    @Test
    void sst2TsvIsALabelTaskWithVerbaliser() {
        List<RawRecord> rs = read(Fixtures.require("data/sst2/train.tsv"));
        assertEquals(60614, rs.size());
        assertEquals(2, rs.get(0).line());
        FieldMapping m = FieldMapping.auto().withLabels(null, null, FieldMapping.parseLabelMap("0=negative,1=positive"), null)
                .resolve(rs.get(0));
        assertEquals(FieldMapping.Kind.LABEL, m.kind());
        assertEquals("sentence", m.textField());
        Example.Instruction e = (Example.Instruction) m.toExample(rs.get(0));
        assertEquals("when are bears bears and ", e.instruction());
        assertEquals("positive", e.output());
        assertEquals("negative", ((Example.Instruction) m.toExample(rs.get(3))).output());
    }

    @Test
    void shakespeareTextByParagraphOrWholeFile() {
        Path f = Fixtures.require("data/shakespeare/input.txt");
        List<RawRecord> paragraphs = read(f);
        assertTrue(paragraphs.size() > 7000, "paragraphs: " + paragraphs.size());
        assertEquals("First Citizen:\nBefore we proceed any further, hear me speak.", paragraphs.get(0).fields().get("text").asText());
        assertEquals(4, paragraphs.get(1).line());
        assertEquals(FieldMapping.Kind.TEXT, FieldMapping.auto().resolve(paragraphs.get(0)).kind());
        List<RawRecord> whole = RecordReader.read(f, null, TextMode.WHOLE_FILE, new BadRecords(false));
        assertEquals(1, whole.size());
        assertTrue(whole.get(0).fields().get("text").asText().length() > 1_000_000);
    }

    @Test
    void csvQuotingFollowsRfc4180() throws IOException {
        Path f = write("q.csv", "text,label\r\n"
                + "\"Hello, world\",1\r\n"
                + "\"She said \"\"hi\"\"\",0\r\n"
                + "\"two\nlines\",1\r\n"
                + "plain,\r\n"
                + "\"\",0\r\n");
        List<RawRecord> rs = read(f);
        assertEquals(5, rs.size());
        assertEquals("Hello, world", rs.get(0).fields().get("text").asText());
        assertEquals("She said \"hi\"", rs.get(1).fields().get("text").asText());
        assertEquals("two\nlines", rs.get(2).fields().get("text").asText());
        assertEquals(4, rs.get(2).line());
        assertEquals(6, rs.get(3).line(), "the record after a two-line field starts on line 6");
        assertEquals("", rs.get(3).fields().get("label").asText());
        assertEquals("", rs.get(4).fields().get("text").asText());
    }

    @Test
    void csvErrorsNameTheLine() throws IOException {
        Path f = write("bad.csv", "a,b\n1,2\n\"x\"y,2\n1,2,3\n\"open,2\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> read(f));
        assertEquals(f + ":3: unexpected character 'y' after a closing quote (expected ',' or the end of the line)", e.getMessage());
        BadRecords bad = new BadRecords(true);
        List<RawRecord> rs = RecordReader.read(f, null, null, bad);
        assertEquals(1, rs.size());
        assertEquals(3, bad.count(BadRecords.MALFORMED));
        assertTrue(bad.firstMessages().contains(f + ":4: row has 3 fields (expected 2, as in the header)"), bad.firstMessages().toString());
        assertTrue(bad.firstMessages().contains(f + ":5: quoted field never closed (expected a closing '\"')"), bad.firstMessages().toString());
    }

    @Test
    void tsvTreatsQuotesAsText() throws IOException {
        Path f = write("t.tsv", "sentence\tlabel\n\"quoted\" start\t1\n");
        assertEquals("\"quoted\" start", read(f).get(0).fields().get("sentence").asText());
    }

    @Test
    void malformedJsonLinesAreReportedByLine() throws IOException {
        Path f = write("d.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\", \n\n[1, 2]\n"
                + "{\"instruction\": \"e\", \"output\": \"f\"}\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> read(f));
        assertTrue(e.getMessage().startsWith(f + ":2: malformed JSON: "), e.getMessage());
        BadRecords bad = new BadRecords(true);
        List<RawRecord> rs = RecordReader.read(f, null, null, bad);
        assertEquals(List.of(1, 5), rs.stream().map(RawRecord::line).toList());
        assertEquals(2, bad.count(BadRecords.MALFORMED));
        assertTrue(bad.firstMessages().contains(f + ":4: line is a JSON array (expected an object)"));
    }

    @Test
    void missingAndMistypedFieldsNameFileLineAndField() throws IOException {
        Path f = write("d.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\"}\n"
                + "{\"instruction\": \"d\", \"output\": 7}\n");
        List<RawRecord> rs = read(f);
        FieldMapping m = FieldMapping.auto().resolve(rs.get(0));
        m.toExample(rs.get(0));
        DataFormatException e = assertThrows(DataFormatException.class, () -> m.toExample(rs.get(1)));
        assertEquals(f + ":2: field 'output' missing (expected a string)", e.getMessage());
        e = assertThrows(DataFormatException.class, () -> m.toExample(rs.get(2)));
        assertEquals(f + ":3: field 'output' is a number (expected a string)", e.getMessage());
    }

    @Test
    void chatMessagesAreValidated() throws IOException {
        Path f = write("c.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n"
                + "{\"messages\": [{\"role\": \"user\"}]}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"only a question\"}]}\n");
        List<RawRecord> rs = read(f);
        FieldMapping m = FieldMapping.auto().resolve(rs.get(0));
        assertEquals(FieldMapping.Kind.CHAT, m.kind());
        assertEquals(2, m.toExample(rs.get(0)).messages().size());
        assertEquals(f + ":2: field 'messages[0].content' missing (expected a string)",
                assertThrows(DataFormatException.class, () -> m.toExample(rs.get(1))).getMessage());
        assertEquals(f + ":3: field 'messages' has no assistant turn (expected at least one message with role 'assistant')",
                assertThrows(DataFormatException.class, () -> m.toExample(rs.get(2))).getMessage());
    }

    private static byte[] concat(String a, byte[] bad, String b) {
        byte[] x = a.getBytes(StandardCharsets.UTF_8), z = b.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[x.length + bad.length + z.length];
        System.arraycopy(x, 0, out, 0, x.length);
        System.arraycopy(bad, 0, out, x.length, bad.length);
        System.arraycopy(z, 0, out, x.length + bad.length, z.length);
        return out;
    }

    @Test
    void invalidUtf8IsDetectedInEveryFormat() throws IOException {
        byte[] bad = {(byte) 0xC3, (byte) 0x28}; // a lead byte followed by a non-continuation byte
        String expected = ": invalid UTF-8 (malformed byte sequence; expected UTF-8 text)";

        Path jsonl = writeBytes("u.jsonl", concat("{\"text\": \"ok\"}\n{\"text\": \"", bad, "\"}\n{\"text\": \"fine\"}\n"));
        assertEquals(jsonl + ":2" + expected, assertThrows(DataFormatException.class, () -> read(jsonl)).getMessage());
        BadRecords b = new BadRecords(true);
        assertEquals(2, RecordReader.read(jsonl, null, null, b).size());
        assertEquals(1, b.count(BadRecords.INVALID_UTF8));

        Path json = writeBytes("u.json", concat("[\n {\"text\": \"ok\"},\n {\"text\":\n  \"", bad, "\"},\n {\"text\": \"x\"}\n]\n"));
        assertEquals(json + ":4" + expected, assertThrows(DataFormatException.class, () -> read(json)).getMessage());
        b = new BadRecords(true);
        assertEquals(List.of(2, 5), RecordReader.read(json, null, null, b).stream().map(RawRecord::line).toList());
        assertEquals(1, b.count(BadRecords.INVALID_UTF8));

        Path csv = writeBytes("u.csv", concat("text,label\nok,1\n", bad, ",0\nfine,1\n"));
        assertEquals(csv + ":3" + expected, assertThrows(DataFormatException.class, () -> read(csv)).getMessage());

        Path txt = writeBytes("u.txt", concat("para one\n\npara ", bad, " two\nstill two\n\nthree\n"));
        assertEquals(txt + ":3" + expected, assertThrows(DataFormatException.class, () -> read(txt)).getMessage());
        b = new BadRecords(true);
        assertEquals(2, RecordReader.read(txt, null, TextMode.PARAGRAPHS, b).size());
        assertEquals(1, b.count(BadRecords.INVALID_UTF8));
    }

    @Test
    void jsonSyntaxErrorInAnArrayIsFatalWithItsLine() throws IOException {
        Path f = write("s.json", "[\n {\"text\": \"a\"},\n {\"text\": \"b\" \"c\"}\n]\n");
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> RecordReader.read(f, null, null, new BadRecords(true)));
        assertTrue(e.getMessage().startsWith(f + ":3: malformed JSON: "), e.getMessage());
    }

    @Test
    void unknownLayoutAsksForFieldNames() throws IOException {
        Path f = write("x.jsonl", "{\"foo\": \"a\", \"bar\": \"b\"}\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> FieldMapping.auto().resolve(read(f).get(0)));
        assertTrue(e.getMessage().startsWith(f + ":1: cannot tell the record layout from its fields [foo, bar]"), e.getMessage());
    }
}
