package io.tune4j.data;

import io.tune4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Preference pairs of a training file (and a validation file, or a held-out fraction of the training
 * pairs), read, templated, tokenised and truncated, with what was left out counted.
 */
public record PreferenceData(List<TokenizedPair> train, List<TokenizedPair> validation, int records, int dropped,
                             int badRecords) {

    /** How a run turns preference records into pairs. */
    public record Spec(Path train, Path validation, double valFraction, DataFormat format, PromptTemplate template,
                       int seqLen, long seed, boolean skipBadRecords) {}

    public static PreferenceData load(Spec spec, Tokenizer tokenizer) {
        PreferenceTokenizer pt = new PreferenceTokenizer(spec.template(), new ExampleTokenizer(tokenizer, false), spec.seqLen());
        BadRecords bad = new BadRecords(spec.skipBadRecords());
        int[] counts = new int[2];
        List<TokenizedPair> train = read(spec.train(), spec.format(), pt, bad, counts);
        List<TokenizedPair> val;
        if (spec.validation() != null) {
            val = read(spec.validation(), spec.format(), pt, bad, counts);
        } else if (spec.valFraction() > 0) {
            List<TokenizedPair> shuffled = new ArrayList<>(train);
            java.util.Collections.shuffle(shuffled, new Random(spec.seed()));
            int n = Math.max(1, (int) Math.round(shuffled.size() * spec.valFraction()));
            val = List.copyOf(shuffled.subList(0, n));
            train = List.copyOf(shuffled.subList(n, shuffled.size()));
        } else {
            val = List.of();
        }
        return new PreferenceData(train, val, counts[0], counts[1], bad.total());
    }

    /** Whether the first record of a file is a preference pair. */
    public static boolean isPreferenceFile(Path file, DataFormat format) {
        List<RawRecord> rs = RecordReader.read(file, format, TextMode.PARAGRAPHS, new BadRecords(true));
        return !rs.isEmpty() && PreferenceRecords.isPreference(rs.get(0));
    }

    /** The template for a file of pairs when none is named: alpaca for prompt records, the chat default for chats. */
    public static String defaultTemplate(Path file, DataFormat format, Path modelDir) {
        List<RawRecord> rs = RecordReader.read(file, format, TextMode.PARAGRAPHS, new BadRecords(true));
        boolean instruction = !rs.isEmpty() && rs.get(0).fields().has("prompt");
        return Templates.defaultFor(instruction ? FieldMapping.Kind.ALPACA : FieldMapping.Kind.CHAT, modelDir);
    }

    private static List<TokenizedPair> read(Path file, DataFormat format, PreferenceTokenizer pt, BadRecords bad, int[] counts) {
        List<TokenizedPair> out = new ArrayList<>();
        for (RawRecord r : RecordReader.read(file, format, TextMode.PARAGRAPHS, bad)) {
            counts[0]++;
            PreferencePair p;
            try {
                p = PreferenceRecords.map(r);
            } catch (DataFormatException e) {
                bad.reject(BadRecords.MALFORMED, e);
                continue;
            }
            TokenizedPair t = pt.tokenize(p);
            if (t == null) counts[1]++;
            else out.add(t);
        }
        return out;
    }

    public String summary() {
        return "preference data: " + records + " records, " + train.size() + " training pairs, " + validation.size()
                + " validation pairs" + (dropped > 0 ? ", " + dropped + " left out (no response token after truncation)" : "")
                + (badRecords > 0 ? ", " + badRecords + " bad records skipped" : "") + "\n";
    }
}
