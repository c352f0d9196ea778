package io.tune4j.bench.load;

import java.util.Arrays;

/** Nearest-rank percentiles of a set of durations. */
final class Percentiles {
    private final long[] sorted;

    Percentiles(long[] values) {
        this.sorted = values.clone();
        Arrays.sort(sorted);
    }

    int count() {
        return sorted.length;
    }

    /** The p-th percentile (0 &lt; p &lt;= 100) in milliseconds; NaN when there are no values. */
    double millis(double p) {
        if (sorted.length == 0) return Double.NaN;
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)] / 1e6;
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
