package io.tune4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Says when preparing a file threw away enough of it to matter: more than {@link #THRESHOLD} of
 * its records, or of its response tokens. Each warning names the rules that did it and the flag
 * that would have kept the data, so that a user sees why the model trained on less than the
 * file holds before spending a run on it.
 */
public final class DataLoss {
    public static final double THRESHOLD = 0.10;

    private DataLoss() {}

    public static List<String> warnings(List<DataReport.SourceReport> sources, int seqLen) {
        List<String> out = new ArrayList<>();
        for (DataReport.SourceReport s : sources) {
            String w = warning(s, seqLen);
            if (w != null) out.add(w);
        }
        return out;
    }

    /** For --strict-data: the report's warnings as a bad-input error. */
    public static void requireNone(DataReport report) {
        if (report.warnings().isEmpty()) return;
        throw new IllegalArgumentException("--strict-data: " + String.join("; and ", report.warnings()));
    }

    static String warning(DataReport.SourceReport s, int seqLen) {
        DataReport.Coverage c = s.coverage();
        if (c == null) return null;
        double exLost = c.examplesLost(), tokLost = c.responseTokensLost();
        if (exLost <= THRESHOLD && tokLost <= THRESHOLD) return null;
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%s (%s): %d of %d records (%.1f%%) are not trained on",
                s.file(), s.role(), c.records() - c.examples(), c.records(), 100 * exLost));
        b.append(String.format(Locale.ROOT, " and %.1f%% of the response tokens are lost", 100 * tokLost));
        List<String> causes = new ArrayList<>();
        int bad = s.badRecords().values().stream().mapToInt(Integer::intValue).sum();
        if (bad > 0) causes.add(bad + " bad records");
        boolean overLong = false, duplicates = false;
        for (DataReport.RuleCount r : s.rules()) {
            if (r.affected() == 0 || r.rule().startsWith("unreadable") || r.rule().startsWith("missing")) continue;
            boolean removed = r.before() != r.after();
            overLong |= r.rule().startsWith("over-long");
            duplicates |= r.rule().endsWith("duplicates");
            // cutting prompts loses no response token: the cut responses are counted below
            if (r.rule().startsWith("over-long") && !removed && c.truncation().equals(Truncation.KEEP_RESPONSE.id())) continue;
            causes.add(r.rule() + " " + (removed ? r.before() - r.after() + " removed" : r.affected() + " cut"));
        }
        if (c.responsesCut() > 0) causes.add(c.responsesCut() + " responses cut at the end");
        if (!causes.isEmpty()) b.append(" (").append(String.join(", ", causes)).append(")");
        List<String> fixes = new ArrayList<>();
        if (overLong && !c.truncation().equals(Truncation.KEEP_RESPONSE.id()) && !c.truncation().equals(Truncation.SPLIT.id())) {
            fixes.add("--truncation keep-response keeps each response whole");
        }
        if (overLong && c.lengthP95() > seqLen) {
            fixes.add("--seq-len " + c.lengthP95() + " fits 95% of the examples");
        }
        if (duplicates) fixes.add("--keep-duplicates keeps duplicates");
        if (bad > 0) fixes.add("the bad-record messages above name the lines to fix");
        if (!fixes.isEmpty()) b.append("; ").append(String.join("; ", fixes));
        return b.toString();
    }
}
