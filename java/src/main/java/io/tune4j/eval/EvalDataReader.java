package io.tune4j.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads evaluation files until the data package routes them: JSONL with one object per line,
 * {"prompt", "reference"[, "options" | "label"]}, {"question", "answer"} (GSM8K) or {"text"}; and
 * SST-2 style TSV (sentence TAB label 0/1, optional header) as a two-option sentiment task.
 */
public final class EvalDataReader {
    public static final List<String> SENTIMENT_OPTIONS = List.of(" negative", " positive");
    private static final ObjectMapper JSON = new ObjectMapper();

    private EvalDataReader() {}

    /** At most limit examples (limit &lt;= 0: all), chosen by the file's extension. */
    public static List<EvalExample> read(Path file, int limit) throws IOException {
        String name = file.getFileName().toString().toLowerCase();
        if (name.endsWith(".tsv")) return readSentimentTsv(file, limit);
        if (name.endsWith(".jsonl") || name.endsWith(".json")) return readJsonl(file, limit);
        throw new IllegalArgumentException(file + ": unknown data format, expected a .jsonl or SST-2 style .tsv file");
    }

    public static String sentimentPrompt(String sentence) {
        return "Review: " + sentence.strip() + "\nSentiment:";
    }

    public static List<EvalExample> readSentimentTsv(Path file, int limit) throws IOException {
        List<EvalExample> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null && (limit <= 0 || out.size() < limit)) {
                n++;
                if (line.isBlank()) continue;
                int tab = line.lastIndexOf('\t');
                String label = tab < 0 ? "" : line.substring(tab + 1).strip();
                if (n == 1 && tab >= 0 && label.equalsIgnoreCase("label")) continue;
                if (tab < 0 || !(label.equals("0") || label.equals("1"))) {
                    throw new IllegalArgumentException(file + ":" + n + ": expected sentence<TAB>label with label 0 or 1");
                }
                out.add(EvalExample.labelled(sentimentPrompt(line.substring(0, tab)), SENTIMENT_OPTIONS, Integer.parseInt(label)));
            }
        }
        return out;
    }

    public static List<EvalExample> readJsonl(Path file, int limit) throws IOException {
        List<EvalExample> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null && (limit <= 0 || out.size() < limit)) {
                n++;
                if (line.isBlank()) continue;
                String where = file + ":" + n;
                JsonNode o;
                try {
                    o = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new IllegalArgumentException(where + ": not a JSON object (" + e.getOriginalMessage() + ")");
                }
                if (o == null || !o.isObject()) throw new IllegalArgumentException(where + ": expected a JSON object per line");
                try {
                    out.add(example(o, where));
                } catch (IllegalArgumentException e) {
                    throw e.getMessage().startsWith(where) ? e : new IllegalArgumentException(where + ": " + e.getMessage());
                }
            }
        }
        return out;
    }

    private static EvalExample example(JsonNode o, String where) {
        if (o.has("text") && !o.has("prompt")) return new EvalExample("", text(o, "text", where));
        if (o.has("question") && !o.has("prompt")) return new EvalExample(text(o, "question", where), text(o, "answer", where));
        String prompt = text(o, "prompt", where);
        JsonNode opts = o.get("options");
        if (opts == null || opts.isNull()) return new EvalExample(prompt, text(o, "reference", where));
        if (!opts.isArray()) throw new IllegalArgumentException(where + ": field 'options' must be an array of strings");
        List<String> options = new ArrayList<>();
        for (JsonNode x : opts) {
            if (!x.isTextual()) throw new IllegalArgumentException(where + ": field 'options' must be an array of strings");
            options.add(x.asText());
        }
        JsonNode label = o.get("label");
        if (label != null && !label.isNull()) {
            if (!label.canConvertToInt() || !label.isIntegralNumber()) {
                throw new IllegalArgumentException(where + ": field 'label' must be an option index");
            }
            return EvalExample.labelled(prompt, options, label.intValue());
        }
        return new EvalExample(prompt, text(o, "reference", where), options);
    }

    private static String text(JsonNode o, String field, String where) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) throw new IllegalArgumentException(where + ": field '" + field + "' is missing");
        if (!v.isTextual()) throw new IllegalArgumentException(where + ": field '" + field + "' must be a string");
        return v.asText();
    }
}
