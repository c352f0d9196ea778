package io.tune4j.data;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a dataset file into {@link RawRecord}s: a JSON array of objects, JSON lines, CSV (RFC
 * 4180) or TSV with a header row, or plain text. Every record knows the line it starts on, so
 * that later stages can name FILE:LINE; malformed records go to {@link BadRecords}.
 */
public final class RecordReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RecordReader() {}

    /** Reads file; format null = from the extension. */
    public static List<RawRecord> read(Path file, DataFormat format, TextMode textMode, BadRecords bad) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DataFormatException(file.toString(), 0, "no such file");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
        return read(file.toString(), bytes, format != null ? format : DataFormat.fromFileName(file), textMode, bad);
    }

    public static List<RawRecord> read(String name, byte[] bytes, DataFormat format, TextMode textMode, BadRecords bad) {
        Utf8Lines text = Utf8Lines.decode(bytes);
        return switch (format) {
            case JSON -> jsonArray(name, text, bad);
            case JSONL -> jsonLines(name, text, bad);
            case CSV -> new CsvParser(name, text, ',', true, bad).records();
            case TSV -> new CsvParser(name, text, '\t', false, bad).records();
            case TEXT -> textMode == TextMode.WHOLE_FILE ? wholeFile(name, text, bad) : paragraphs(name, text, bad);
        };
    }

    static DataFormatException invalidUtf8(String name, int line) {
        return new DataFormatException(name, line, "invalid UTF-8 (malformed byte sequence; expected UTF-8 text)");
    }

    private static List<RawRecord> jsonArray(String name, Utf8Lines text, BadRecords bad) {
        List<RawRecord> out = new ArrayList<>();
        try (JsonParser p = JSON.getFactory().createParser(text.joined())) {
            JsonToken first = p.nextToken();
            if (first != JsonToken.START_ARRAY) {
                throw new DataFormatException(name, line(p.currentTokenLocation()),
                        "expected a JSON array of records (use .jsonl for one object per line)");
            }
            for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                if (t == null) throw new DataFormatException(name, line(p.currentLocation()), "unexpected end of file in the JSON array");
                int start = line(p.currentTokenLocation());
                JsonNode node = p.readValueAsTree();
                int end = line(p.currentLocation());
                if (text.anyInvalid(start, end)) {
                    bad.reject(BadRecords.INVALID_UTF8, invalidUtf8(name, firstInvalid(text, start)));
                } else if (node instanceof ObjectNode o) {
                    out.add(new RawRecord(name, start, o));
                } else {
                    bad.reject(BadRecords.MALFORMED, new DataFormatException(name, start,
                            "record is a JSON " + node.getNodeType().toString().toLowerCase() + " (expected an object)"));
                }
            }
        } catch (JsonProcessingException e) {
            // a syntax error inside an array cannot be skipped: where the next record starts is unknown
            int line = e.getLocation() == null ? 0 : line(e.getLocation());
            if (line > 0 && text.anyInvalid(line, line)) throw invalidUtf8(name, line);
            throw new DataFormatException(name, line, "malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static int firstInvalid(Utf8Lines text, int fromLine) {
        return text.invalid.nextSetBit(fromLine - 1) + 1;
    }

    private static int line(JsonLocation loc) {
        return loc.getLineNr();
    }

    private static List<RawRecord> jsonLines(String name, Utf8Lines text, BadRecords bad) {
        List<RawRecord> out = new ArrayList<>();
        for (int i = 0; i < text.lines.size(); i++) {
            String l = text.lines.get(i);
            if (l.isBlank()) continue;
            int line = i + 1;
            if (text.invalid.get(i)) {
                bad.reject(BadRecords.INVALID_UTF8, invalidUtf8(name, line));
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(l);
            } catch (JsonProcessingException e) {
                bad.reject(BadRecords.MALFORMED, new DataFormatException(name, line, "malformed JSON: " + e.getOriginalMessage()));
                continue;
            }
            if (node instanceof ObjectNode o) {
                out.add(new RawRecord(name, line, o));
            } else {
                bad.reject(BadRecords.MALFORMED, new DataFormatException(name, line,
                        "line is a JSON " + node.getNodeType().toString().toLowerCase() + " (expected an object)"));
            }
        }
        return out;
    }

    private static List<RawRecord> paragraphs(String name, Utf8Lines text, BadRecords bad) {
        List<RawRecord> out = new ArrayList<>();
        int n = text.lines.size();
        for (int i = 0; i < n; ) {
            if (text.lines.get(i).isBlank()) {
                i++;
                continue;
            }
            int start = i;
            StringBuilder sb = new StringBuilder();
            boolean invalid = false;
            for (; i < n && !text.lines.get(i).isBlank(); i++) {
                if (sb.length() > 0) sb.append('\n');
                sb.append(text.lines.get(i));
                invalid |= text.invalid.get(i);
            }
            if (invalid) {
                bad.reject(BadRecords.INVALID_UTF8, invalidUtf8(name, firstInvalid(text, start + 1)));
            } else {
                out.add(textRecord(name, start + 1, sb.toString()));
            }
        }
        return out;
    }

    /** One record; with skipping, lines of invalid UTF-8 are dropped (each counted) and the rest kept. */
    private static List<RawRecord> wholeFile(String name, Utf8Lines text, BadRecords bad) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < text.lines.size(); i++) {
            if (text.invalid.get(i)) {
                bad.reject(BadRecords.INVALID_UTF8, invalidUtf8(name, i + 1));
                continue;
            }
            sb.append(text.lines.get(i)).append('\n');
        }
        if (sb.toString().isBlank()) return List.of();
        return List.of(textRecord(name, 1, sb.toString()));
    }

    private static RawRecord textRecord(String name, int line, String text) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("text", text);
        return new RawRecord(name, line, o);
    }
}
