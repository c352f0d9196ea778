package io.tune4j.ops;

import io.tune4j.tensor.Tensor;

/** Argument checks of {@link Ops#loraMultiForward}'s per-slot tables, shared by the backends. */
public final class LoraSlots {
    private LoraSlots() {}

    /** Checks that the tables agree in length and every used slot has A and B; returns the slot count. */
    public static int check(String what, Tensor[] a, Tensor[] b, int[] ranks, float[] scales, int K, int N) {
        if (a == null || b == null || ranks == null || scales == null) {
            throw new IllegalArgumentException(what + ": the slot tables a, b, ranks and scales are required");
        }
        int n = ranks.length;
        if (a.length != n || b.length != n || scales.length != n) {
            throw new IllegalArgumentException(what + ": slot tables differ in length (a " + a.length + ", b " + b.length
                    + ", ranks " + n + ", scales " + scales.length + ")");
        }
        if (K < 0 || N < 0) throw new IllegalArgumentException(what + ": negative size K=" + K + " N=" + N);
        for (int s = 0; s < n; s++) {
            if (ranks[s] < 0) throw new IllegalArgumentException(what + ": slot " + s + " has rank " + ranks[s]);
            if (ranks[s] > 0 && (a[s] == null || b[s] == null)) {
                throw new IllegalArgumentException(what + ": slot " + s + " has rank " + ranks[s] + " but no A or B");
            }
            if (ranks[s] > 0 && (a[s].numel() < (long) ranks[s] * K || b[s].numel() < (long) N * ranks[s])) {
                throw new IllegalArgumentException(what + ": slot " + s + " of rank " + ranks[s] + " needs A [" + ranks[s]
                        + "," + K + "] and B [" + N + "," + ranks[s] + "], got " + a[s] + " and " + b[s]);
            }
            if (!Float.isFinite(scales[s])) throw new IllegalArgumentException(what + ": slot " + s + " scale " + scales[s]);
        }
        return n;
    }

    public static int maxRank(int[] ranks) {
        int m = 0;
        for (int r : ranks) m = Math.max(m, r);
        return m;
    }

    /** y, x and the row table must be given whenever there are rows. */
    public static void requireRows(String what, Tensor y, Tensor x, Tensor rowSlot, int M) {
        if (M < 0) throw new IllegalArgumentException(what + ": negative row count " + M);
        if (M > 0 && (y == null || x == null || rowSlot == null)) {
            throw new IllegalArgumentException(what + ": y, x and the row slot table are required");
        }
    }
}
