package io.tune4j.data;

import java.nio.file.Path;
import java.util.Locale;

/** File formats a dataset can come in; picked from the file extension unless given. */
public enum DataFormat {
    /** A JSON array of objects. */
    JSON,
    /** One JSON object per line. */
    JSONL,
    /** Comma-separated with a header row, RFC 4180 quoting. */
    CSV,
    /** Tab-separated with a header row; no quoting (a field cannot hold a tab or a newline). */
    TSV,
    /** Plain text, split into documents according to a {@link TextMode}. */
    TEXT;

    public static DataFormat fromFileName(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".gz")) {
            throw new DataFormatException(file.toString(), 0, "compressed files are not supported; decompress it first");
        }
        if (n.endsWith(".jsonl") || n.endsWith(".ndjson")) return JSONL;
        if (n.endsWith(".json")) return JSON;
        if (n.endsWith(".csv")) return CSV;
        if (n.endsWith(".tsv")) return TSV;
        if (n.endsWith(".txt") || n.endsWith(".text") || n.endsWith(".md")) return TEXT;
        throw new DataFormatException(file.toString(), 0,
                "unknown data format; expected a .json, .jsonl, .csv, .tsv or .txt file (or name the format explicitly)");
    }

    public static DataFormat parse(String s) {
        String n = s.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "json" -> JSON;
            case "jsonl", "ndjson" -> JSONL;
            case "csv" -> CSV;
            case "tsv" -> TSV;
            case "txt", "text" -> TEXT;
            default -> throw new IllegalArgumentException("unknown data format '" + s + "'; expected json, jsonl, csv, tsv or txt");
        };
    }
}
