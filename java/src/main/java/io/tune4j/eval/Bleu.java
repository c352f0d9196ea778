package io.tune4j.eval;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Corpus BLEU-4 (Papineni et al. 2002) with one reference per prediction, over normalised
 * whitespace tokens: clipped n-gram matches and n-gram totals are summed over the corpus, the
 * geometric mean of the four precisions is multiplied by the brevity penalty
 * BP = min(1, exp(1 - r/c)) with r and c the total reference and prediction lengths. Scores are in
 * [0, 1] (sacreBLEU prints 100x this).
 */
public final class Bleu {
    public static final int MAX_ORDER = 4;

    /** What a precision with no matching n-gram becomes. */
    public enum Smoothing {
        /** None: any order without a match makes BLEU 0. */
        NONE,
        /**
         * sacreBLEU's default "exp" (Chen &amp; Cherry 2014, method 3, as in NIST mteval): the k-th
         * order with no match gets precision 1/(2^k * total).
         */
        EXP,
        /** Lin &amp; Och 2004: orders n &gt;= 2 use (matches+1)/(total+1). */
        ADD_ONE
    }

    /** The score with what it was computed from. */
    public record Score(double bleu, double[] precisions, double brevityPenalty, long predictionLength,
                        long referenceLength, long[] matches, long[] totals) {}

    private Bleu() {}

    public static Score corpus(List<String> predictions, List<String> references, Smoothing smoothing) {
        if (predictions.size() != references.size()) {
            throw new IllegalArgumentException(predictions.size() + " predictions but " + references.size() + " references");
        }
        long[] matches = new long[MAX_ORDER], totals = new long[MAX_ORDER];
        long c = 0, r = 0;
        for (int i = 0; i < predictions.size(); i++) {
            List<String> hyp = TextNormalizer.tokens(predictions.get(i));
            List<String> ref = TextNormalizer.tokens(references.get(i));
            c += hyp.size();
            r += ref.size();
            for (int n = 1; n <= MAX_ORDER; n++) {
                Map<List<String>, Integer> refCounts = ngrams(ref, n);
                for (Map.Entry<List<String>, Integer> e : ngrams(hyp, n).entrySet()) {
                    matches[n - 1] += Math.min(e.getValue(), refCounts.getOrDefault(e.getKey(), 0));
                }
                totals[n - 1] += Math.max(0, hyp.size() - n + 1);
            }
        }
        return score(matches, totals, c, r, smoothing);
    }

    static Score score(long[] matches, long[] totals, long c, long r, Smoothing smoothing) {
        double[] p = new double[MAX_ORDER];
        double logSum = 0;
        boolean zero = false;
        double expDivisor = 1;
        for (int n = 1; n <= MAX_ORDER; n++) {
            double m = matches[n - 1], t = totals[n - 1];
            if (smoothing == Smoothing.ADD_ONE && n > 1) {
                m += 1;
                t += 1;
            }
            if (t == 0) {
                zero = true; // the predictions are shorter than n tokens: no evidence at this order
                continue;
            }
            if (m == 0) {
                if (smoothing == Smoothing.EXP) {
                    expDivisor *= 2;
                    p[n - 1] = 1.0 / (expDivisor * t);
                } else {
                    zero = true;
                    continue;
                }
            } else {
                p[n - 1] = m / t;
            }
            logSum += Math.log(p[n - 1]);
        }
        double bp = c == 0 ? 0.0 : c >= r ? 1.0 : Math.exp(1.0 - (double) r / c);
        double bleu = zero || c == 0 ? 0.0 : bp * Math.exp(logSum / MAX_ORDER);
        return new Score(bleu, p, bp, c, r, matches.clone(), totals.clone());
    }

    private static Map<List<String>, Integer> ngrams(List<String> tokens, int n) {
        Map<List<String>, Integer> out = new HashMap<>();
        for (int i = 0; i + n <= tokens.size(); i++) out.merge(tokens.subList(i, i + n), 1, Integer::sum);
        return out;
    }
}
