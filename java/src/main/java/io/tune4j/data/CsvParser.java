package io.tune4j.data;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Delimited text with a header row. With quoting (CSV, RFC 4180) a field in double quotes may
 * hold the delimiter, newlines and doubled quotes; without it (TSV as written by GLUE and most
 * tools) quotes are ordinary characters, since sentences often start with one.
 */
final class CsvParser {
    private final String name;
    private final Utf8Lines text;
    private final char delimiter;
    private final boolean quoting;
    private final BadRecords bad;

    // cursor: line index and column within it
    private int li;
    private int col;

    CsvParser(String name, Utf8Lines text, char delimiter, boolean quoting, BadRecords bad) {
        this.name = name;
        this.text = text;
        this.delimiter = delimiter;
        this.quoting = quoting;
        this.bad = bad;
    }

    List<RawRecord> records() {
        List<RawRecord> out = new ArrayList<>();
        List<String> header = null;
        int n = text.lines.size();
        while (li < n) {
            if (text.lines.get(li).isEmpty()) {
                li++;
                continue;
            }
            int start = li + 1;
            List<String> fields;
            try {
                fields = row();
            } catch (DataFormatException e) {
                if (header == null) throw e;
                bad.reject(text.anyInvalid(start, Math.min(li + 1, n)) ? BadRecords.INVALID_UTF8 : BadRecords.MALFORMED,
                        text.anyInvalid(start, Math.min(li + 1, n)) ? RecordReader.invalidUtf8(name, start) : e);
                continue;
            }
            int end = li; // row() leaves li on the line after the record
            if (text.anyInvalid(start, end)) {
                if (header == null) throw RecordReader.invalidUtf8(name, start);
                bad.reject(BadRecords.INVALID_UTF8, RecordReader.invalidUtf8(name, start));
                continue;
            }
            if (header == null) {
                header = checkedHeader(fields, start);
                continue;
            }
            if (fields.size() != header.size()) {
                bad.reject(BadRecords.MALFORMED, new DataFormatException(name, start, "row has " + fields.size()
                        + " fields (expected " + header.size() + ", as in the header)"));
                continue;
            }
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            for (int i = 0; i < header.size(); i++) o.put(header.get(i), fields.get(i));
            out.add(new RawRecord(name, start, o));
        }
        if (header == null) throw new DataFormatException(name, 0, "empty file (expected a header row)");
        return out;
    }

    private List<String> checkedHeader(List<String> fields, int line) {
        Set<String> seen = new HashSet<>();
        List<String> out = new ArrayList<>();
        for (String f : fields) {
            String h = f.strip();
            if (h.isEmpty()) throw new DataFormatException(name, line, "empty column name in the header row");
            if (!seen.add(h)) throw new DataFormatException(name, line, "column '" + h + "' appears twice in the header row");
            out.add(h);
        }
        return out;
    }

    /** Parses one record starting at (li, 0); leaves li on the line after it. */
    private List<String> row() {
        List<String> fields = new ArrayList<>();
        int startLine = li + 1;
        col = 0;
        while (true) {
            String line = text.lines.get(li);
            if (quoting && col < line.length() && line.charAt(col) == '"') {
                fields.add(quoted(startLine));
                line = text.lines.get(li);
                if (col == line.length()) break;
                if (line.charAt(col) != delimiter) {
                    li++;
                    throw new DataFormatException(name, startLine, "unexpected character '" + line.charAt(col)
                            + "' after a closing quote (expected '" + printable(delimiter) + "' or the end of the line)");
                }
                col++;
                if (col == line.length()) {
                    fields.add("");
                    break;
                }
            } else {
                int d = line.indexOf(delimiter, col);
                if (d < 0) {
                    fields.add(line.substring(col));
                    break;
                }
                fields.add(line.substring(col, d));
                col = d + 1;
                if (col == line.length()) {
                    fields.add("");
                    break;
                }
            }
        }
        li++;
        return fields;
    }

    private String quoted(int startLine) {
        StringBuilder sb = new StringBuilder();
        col++; // opening quote
        while (true) {
            String line = text.lines.get(li);
            int q = line.indexOf('"', col);
            if (q < 0) {
                sb.append(line, col, line.length()).append('\n');
                li++;
                col = 0;
                if (li >= text.lines.size()) {
                    throw new DataFormatException(name, startLine, "quoted field never closed (expected a closing '\"')");
                }
                continue;
            }
            sb.append(line, col, q);
            if (q + 1 < line.length() && line.charAt(q + 1) == '"') {
                sb.append('"');
                col = q + 2;
                continue;
            }
            col = q + 1;
            return sb.toString();
        }
    }

    private static String printable(char c) {
        return c == '\t' ? "\\t" : String.valueOf(c);
    }
}
