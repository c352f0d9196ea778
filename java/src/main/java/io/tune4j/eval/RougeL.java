package io.tune4j.eval;

import java.util.List;

/**
 * ROUGE-L F1 over normalised whitespace tokens: precision = LCS/|prediction|, recall =
 * LCS/|reference|, F = 2PR/(P+R). Empty prediction or reference scores 0 (as rouge-score does).
 */
public final class RougeL {
    private RougeL() {}

    public static double f1(String prediction, String reference) {
        return f1(TextNormalizer.tokens(prediction), TextNormalizer.tokens(reference));
    }

    public static double f1(List<String> prediction, List<String> reference) {
        if (prediction.isEmpty() || reference.isEmpty()) return 0.0;
        int lcs = lcs(prediction, reference);
        if (lcs == 0) return 0.0;
        double p = (double) lcs / prediction.size(), r = (double) lcs / reference.size();
        return 2 * p * r / (p + r);
    }

    /** Longest common subsequence length, two rolling rows. */
    static int lcs(List<String> a, List<String> b) {
        int[] prev = new int[b.size() + 1], cur = new int[b.size() + 1];
        for (String x : a) {
            for (int j = 1; j <= b.size(); j++) {
                cur[j] = x.equals(b.get(j - 1)) ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.size()];
    }
}
