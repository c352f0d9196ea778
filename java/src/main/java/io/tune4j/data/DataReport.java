package io.tune4j.data;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What preparing a dataset did: per input file the records read, bad records skipped (by
 * reason) and each rule's before/after counts; then the train/validation split, the train
 * examples removed because validation holds them, token statistics and packing. Serialised as
 * report.json; {@link #summary()} is the readable form.
 */
public record DataReport(String kind, String template, int seqLen, List<SourceReport> sources, SplitReport split,
                         RuleCount overlap, TokenStats train, TokenStats validation, PackingReport packing,
                         List<String> warnings) {

    public DataReport {
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
    }

    /** before → after examples; affected counts examples changed in place (truncated) or removed. */
    public record RuleCount(String rule, int before, int after, int affected) {
        public static RuleCount removal(String rule, int before, int after) {
            return new RuleCount(rule, before, after, before - after);
        }
    }

    /** role: "train" or "validation" (the file given for validation). */
    public record SourceReport(String file, String role, int records, Map<String, Integer> badRecords,
                               List<String> badRecordMessages, List<RuleCount> rules, int examples, Coverage coverage) {}

    /**
     * What of a file's input reaches training: records read against examples kept, and the
     * response (trained) tokens the examples had before truncation against those kept.
     *
     * @param responsesCut examples kept with part of their response cut off
     * @param lengthP95 token length that 95% of the templated examples do not exceed
     * @param truncation the truncation policy applied
     */
    public record Coverage(int records, int examples, long responseTokens, long responseTokensKept, int responsesCut,
                           int lengthP95, String truncation) {
        public double examplesLost() {
            return records == 0 ? 0 : 1.0 - (double) examples / records;
        }

        public double responseTokensLost() {
            return responseTokens == 0 ? 0 : 1.0 - (double) responseTokensKept / responseTokens;
        }
    }

    /** mode: "file" (a validation file), "fraction" (split by seed) or "none". */
    public record SplitReport(String mode, double fraction, long seed, int train, int validation) {}

    public record TokenStats(int examples, long tokens, long trainableTokens, int minLength, int maxLength, double meanLength) {
        public static TokenStats of(List<TokenizedExample> xs) {
            long tokens = 0, trainable = 0;
            int min = Integer.MAX_VALUE, max = 0;
            for (TokenizedExample x : xs) {
                tokens += x.length();
                for (int l : x.labels()) if (l != TokenizedExample.IGNORE) trainable++;
                min = Math.min(min, x.length());
                max = Math.max(max, x.length());
            }
            return new TokenStats(xs.size(), tokens, trainable, xs.isEmpty() ? 0 : min, max,
                    xs.isEmpty() ? 0 : (double) tokens / xs.size());
        }
    }

    /** rows of seqLen tokens the examples were packed into, and the share of their tokens that are not padding. */
    public record PackingReport(int trainRows, int validationRows, double trainFill, double validationFill) {}

    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "records: %s, template: %s, sequence length: %d%n", kind, template, seqLen));
        for (SourceReport s : sources) {
            sb.append(String.format(Locale.ROOT, "%n%s (%s): %d records read", s.file(), s.role(), s.records()));
            int bad = s.badRecords().values().stream().mapToInt(Integer::intValue).sum();
            if (bad > 0) sb.append(", ").append(bad).append(" bad records skipped ").append(s.badRecords());
            sb.append(String.format(Locale.ROOT, "%n"));
            for (RuleCount r : s.rules()) sb.append(rule(r));
            sb.append(String.format(Locale.ROOT, "  => %d examples%n", s.examples()));
            Coverage c = s.coverage();
            if (c != null) {
                sb.append(String.format(Locale.ROOT, "  kept: %d of %d records (%.1f%%), %d of %d response tokens (%.1f%%)",
                        c.examples(), c.records(), 100 * (1 - c.examplesLost()), c.responseTokensKept(), c.responseTokens(),
                        100 * (1 - c.responseTokensLost())));
                if (c.responsesCut() > 0) sb.append(", ").append(c.responsesCut()).append(" responses cut at the end");
                sb.append(String.format(Locale.ROOT, "%n"));
            }
        }
        sb.append(String.format(Locale.ROOT, "%nsplit: %s", split.mode()));
        if ("fraction".equals(split.mode())) sb.append(String.format(Locale.ROOT, " (%.3f, seed %d)", split.fraction(), split.seed()));
        sb.append(String.format(Locale.ROOT, " -> %d train, %d validation%n", split.train(), split.validation()));
        if (overlap != null) sb.append(rule(overlap));
        sb.append(stats("train", train));
        if (validation != null && validation.examples() > 0) sb.append(stats("validation", validation));
        if (packing != null) {
            sb.append(String.format(Locale.ROOT, "packed: %d train rows (%.1f%% filled), %d validation rows (%.1f%% filled)%n",
                    packing.trainRows(), 100 * packing.trainFill(), packing.validationRows(), 100 * packing.validationFill()));
        }
        for (String w : warnings) sb.append(String.format(Locale.ROOT, "%nwarning: %s%n", w));
        return sb.toString();
    }

    private static String rule(RuleCount r) {
        String what = r.before() == r.after() && r.affected() > 0 ? r.affected() + " changed" : (r.before() - r.after()) + " removed";
        return String.format(Locale.ROOT, "  %-28s %8d -> %8d  (%s)%n", r.rule(), r.before(), r.after(), what);
    }

    private static String stats(String name, TokenStats t) {
        return String.format(Locale.ROOT, "%s: %d examples, %d tokens (%d trained on), length %d..%d, mean %.1f%n", name,
                t.examples(), t.tokens(), t.trainableTokens(), t.minLength(), t.maxLength(), t.meanLength());
    }
}
