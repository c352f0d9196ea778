package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused LoRA linear against libtorch. Without dropout the op is checked against the exact
 * formula and autograd. With dropout the mask is not an input, so it is first read back from the op
 * itself (a forward with A = B = I, W = 0 and x = 1 returns drop(1) = mask/(1-p)); since the mask is
 * a pure function of (seed, element index), the same mask then applies to any r and N, and the op at
 * real shapes is checked against libtorch using it, forward and backward. Separate statistical checks
 * make sure the mask is a sensible Bernoulli(1-p) draw that changes with the seed and not with threads.
 */
class LoraTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // {M, K, N, r}; the last two are large enough for the products to split over threads
    private static final int[][] SHAPES = {{1, 33, 1, 1}, {7, 64, 45, 4}, {13, 33, 45, 16}, {13, 64, 1, 4}, {1, 64, 45, 16},
            {203, 70, 90, 16}, {301, 130, 70, 7}};
    private static final int GUARD = 16;
    private static final float GUARD_VALUE = 12345.0f;

    static void backward(org.bytedeco.pytorch.Tensor y, Tensor dy) {
        y.backward(TorchRef.of(dy, false), new BoolOptional(), false, new TensorArrayRefOptional());
    }

    static Tensor eye(Arena arena, int n) {
        float[] v = new float[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1f;
        return arena.adopt(Tensor.of(v, n, n));
    }

    /** Workspace of exactly the advertised size plus a guard tail that must survive untouched. */
    static Tensor workspace(Arena arena, Ops ops, int M, int K, int N, int r, float p) {
        long n = ops.loraWorkspaceFloats(M, K, N, r, p);
        Tensor ws = arena.f32(n + GUARD);
        ws.fill(GUARD_VALUE);
        return ws;
    }

    static void checkGuard(Tensor ws, String what) {
        float[] v = ws.toFloatArray();
        for (int i = v.length - GUARD; i < v.length; i++) {
            assertEquals(GUARD_VALUE, v[i], what + ": op wrote past its advertised workspace");
        }
    }

    static long seed(Rand rnd) {
        return ((long) rnd.nextInt(1 << 30) << 34) ^ ((long) rnd.nextInt(1 << 30) << 4) ^ rnd.nextInt(16);
    }

    /** The keep-mask the op applies to an [M,K] input for (seed, p), read back through the op. */
    static boolean[] mask(Ops ops, int M, int K, float p, long seed) {
        try (Arena arena = new Arena()) {
            Tensor ones = arena.f32(M, K);
            ones.fill(1f);
            Tensor w = arena.zeros(K, K);
            Tensor id = eye(arena, K);
            Tensor y = arena.f32(M, K);
            Tensor t = arena.f32(M, K);
            Tensor ws = workspace(arena, ops, M, K, K, K, p);
            ops.loraForward(y, t, ones, w, null, id, id, 1f, p, seed, ws);
            checkGuard(ws, "lora mask forward");
            float[] tv = t.toFloatArray();
            float[] yv = y.toFloatArray();
            float kept = 1f / (1f - p);
            boolean[] m = new boolean[tv.length];
            for (int e = 0; e < tv.length; e++) {
                assertTrue(tv[e] == 0f || Math.abs(tv[e] - 1.0 / (1.0 - p)) <= 1e-6 * kept,
                        "dropout output must be 0 or 1/(1-p), got " + tv[e]);
                assertEquals(tv[e], yv[e], "y = t when W = 0 and B = I");
                m[e] = tv[e] != 0f;
            }
            return m;
        }
    }

    /** One full forward/backward check against libtorch; keep == null means no dropout. */
    static void check(Ops ops, Rand rnd, int M, int K, int N, int r, float scale, float p, long seed, boolean[] keep,
                      boolean withBias, boolean trainBase) {
        String tag = "M=" + M + " K=" + K + " N=" + N + " r=" + r + " p=" + p + " seed=" + seed
                + (withBias ? " bias" : "") + (trainBase ? " full-ft " : " ") + rnd;
        try (Arena arena = new Arena()) {
            Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
            Tensor w = arena.adopt(rnd.tensor(0.2, N, K));
            Tensor bias = withBias ? arena.adopt(rnd.tensor(1.0, N)) : null;
            Tensor a = arena.adopt(rnd.tensor(0.3, r, K));
            Tensor b = arena.adopt(rnd.tensor(0.3, N, r));  // non-zero B so the low-rank path is exercised
            Tensor dy = arena.adopt(rnd.tensor(1.0, M, N));
            Tensor y = arena.f32(M, N);
            Tensor t = arena.f32(M, r);
            y.fill(Float.NaN);  // forward must overwrite y and t, never read them
            t.fill(Float.NaN);
            Tensor ws = workspace(arena, ops, M, K, N, r, p);
            ops.loraForward(y, t, x, w, bias, a, b, scale, p, seed, ws);
            checkGuard(ws, "lora forward " + tag);

            var tx = TorchRef.of(x, true);
            var tw = TorchRef.of(w, true);
            var tbias = withBias ? TorchRef.of(bias, true) : null;
            var ta = TorchRef.of(a, true);
            var tb = TorchRef.of(b, true);
            var xd = tx;
            if (keep != null) {
                float[] mv = new float[M * K];
                for (int e = 0; e < mv.length; e++) mv[e] = keep[e] ? 1f : 0f;
                xd = tx.mul(TorchRef.of(mv, false, M, K)).mul(new Scalar(1.0 / (1.0 - p)));
            }
            var tt = xd.matmul(ta.t());
            var ty = tx.matmul(tw.t());
            if (withBias) ty = ty.add(tbias);
            // y is the base and the low-rank term added: with one output they can cancel, so the error is
            // measured against the terms, not only their near-zero sum
            var lowRank = tt.matmul(tb.t()).mul(new Scalar(scale));
            closeAdded("lora y " + tag, y, lowRank, ty);
            ty = ty.add(lowRank);
            close("lora t " + tag, t, tt);

            Tensor dx = arena.adopt(rnd.tensor(0.5, M, K));
            Tensor dw = trainBase ? arena.adopt(rnd.tensor(0.5, N, K)) : null;
            Tensor dbias = trainBase && withBias ? arena.adopt(rnd.tensor(0.5, N)) : null;
            Tensor da = arena.adopt(rnd.tensor(0.5, r, K));
            Tensor db = arena.adopt(rnd.tensor(0.5, N, r));
            var dx0 = TorchRef.of(dx, false);
            var dw0 = trainBase ? TorchRef.of(dw, false) : null;
            var dbias0 = dbias != null ? TorchRef.of(dbias, false) : null;
            var da0 = TorchRef.of(da, false);
            var db0 = TorchRef.of(db, false);
            ws.fill(GUARD_VALUE);  // backward must not rely on anything forward left in ws
            ops.loraBackward(dx, dw, dbias, da, db, dy, x, t, w, a, b, scale, p, seed, ws);
            checkGuard(ws, "lora backward " + tag);
            backward(ty, dy);
            closeAdded("lora dx " + tag, dx, tx.grad(), dx0);
            closeAdded("lora dA " + tag, da, ta.grad(), da0);
            closeAdded("lora dB " + tag, db, tb.grad(), db0);
            if (dw != null) closeAdded("lora dW " + tag, dw, tw.grad(), dw0);
            if (dbias != null) closeAdded("lora dbias " + tag, dbias, tbias.grad(), dbias0);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void withoutDropoutMatchesLibtorch(Ops ops) {
        Rand rnd = new Rand();
        int i = 0;
        for (int[] s : SHAPES) {
            boolean withBias = i % 2 == 0, trainBase = i % 3 != 1;
            check(ops, rnd, s[0], s[1], s[2], s[3], 2.0f / s[3], 0f, seed(rnd), null, withBias, trainBase);
            i++;
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void withDropoutMatchesLibtorchUnderTheOpsMask(Ops ops) {
        Rand rnd = new Rand();
        float[] ps = {0.1f, 0.3f, 0.5f};
        int i = 0;
        for (int[] s : SHAPES) {
            int M = s[0], K = s[1];
            float p = ps[i % ps.length];
            long seed = seed(rnd);
            boolean[] keep = mask(ops, M, K, p, seed);
            check(ops, rnd, M, K, s[2], s[3], 0.5f, p, seed, keep, i % 2 == 1, i % 2 == 0);
            i++;
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void dropoutMaskIsAFairCounterBasedDraw(Ops ops) {
        Rand rnd = new Rand();
        int M = 64, K = 1100;  // 70,400 elements: large enough for the threaded path
        int n = M * K;
        for (float p : new float[] {0.1f, 0.3f, 0.5f}) {
            long seed = seed(rnd);
            boolean[] m1 = mask(ops, M, K, p, seed);
            // deterministic and independent of the thread count
            int threads = NativeLib.t4j_get_num_threads();
            boolean[] serial;
            try {
                NativeLib.t4j_set_num_threads(1);
                serial = mask(ops, M, K, p, seed);
            } finally {
                NativeLib.t4j_set_num_threads(threads);
            }
            assertArrayEquals(m1, serial, "mask changed with the thread count (p=" + p + " seed=" + seed + ")");
            assertArrayEquals(m1, mask(ops, M, K, p, seed), "mask not reproducible (p=" + p + " seed=" + seed + ")");

            // keep rate 1-p, pairs of neighbours independent, a new seed gives a new mask
            double q = 1 - p;
            int kept = 0, pairs = 0, differ = 0;
            boolean[] m2 = mask(ops, M, K, p, seed + 1);
            for (int e = 0; e < n; e++) {
                if (m1[e]) kept++;
                if (e + 1 < n && m1[e] && m1[e + 1]) pairs++;
                if (m1[e] != m2[e]) differ++;
            }
            String tag = " (p=" + p + " seed=" + seed + ")";
            assertWithin("keep rate" + tag, kept / (double) n, q, n);
            assertWithin("neighbour pairs" + tag, pairs / (double) (n - 1), q * q, n - 1);
            assertWithin("seed vs seed+1 disagreement" + tag, differ / (double) n, 2 * p * q, n);
        }
    }

    /** |observed - expected| within 6 standard deviations of a Bernoulli(expected) mean over n draws. */
    static void assertWithin(String what, double observed, double expected, int n) {
        double sd = Math.sqrt(expected * (1 - expected) / n);
        assertTrue(Math.abs(observed - expected) <= 6 * sd, what + ": " + observed + " vs expected " + expected);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void workspaceSizeAndFullDropout(Ops ops) {
        assertTrue(ops.loraWorkspaceFloats(13, 33, 45, 4, 0f) >= 13L * 4);
        assertTrue(ops.loraWorkspaceFloats(13, 33, 45, 4, 0.1f) >= 13L * 4 + 13L * 33);

        // p = 1 drops everything: the low-rank path contributes nothing and gets no input gradient
        Rand rnd = new Rand();
        int M = 7, K = 33, N = 45, r = 4;
        try (Arena arena = new Arena()) {
            Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
            Tensor w = arena.adopt(rnd.tensor(0.2, N, K));
            Tensor a = arena.adopt(rnd.tensor(0.3, r, K));
            Tensor b = arena.adopt(rnd.tensor(0.3, N, r));
            Tensor y = arena.f32(M, N);
            Tensor t = arena.f32(M, r);
            Tensor ws = workspace(arena, ops, M, K, N, r, 1f);
            ops.loraForward(y, t, x, w, null, a, b, 1f, 1f, seed(rnd), ws);
            var ty = TorchRef.of(x, false).matmul(TorchRef.of(w, false).t());
            close("lora p=1 y " + rnd, y, ty);
            for (float v : t.toFloatArray()) assertEquals(0f, v, "p=1: t must be 0");
            checkGuard(ws, "lora p=1");
        }
    }
}
