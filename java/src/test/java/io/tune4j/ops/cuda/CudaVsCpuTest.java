package io.tune4j.ops.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import io.tune4j.ops.Activation;
import io.tune4j.ops.AdamWParams;
import io.tune4j.ops.AttentionShape;
import io.tune4j.ops.Ops;
import io.tune4j.ops.RopeScaling;
import io.tune4j.ops.SamplingParams;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.HostStaging;
import io.tune4j.testing.Rand;
import java.util.Arrays;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every CUDA op against the CPU op on the same random inputs, without libtorch (so it runs on the
 * packed device folder, see scripts/gpu-check.sh). Outputs start as NaN, so an element a kernel
 * forgets to write fails the comparison; gradients start random, so accumulation is checked.
 */
class CudaVsCpuTest {
    private static final double FP32_TOL = 1e-5;
    private static Ops gpu;
    private final Rand rnd = new Rand();
    private Arena arena;
    private final java.util.Map<Tensor, Boolean> scratch = new java.util.IdentityHashMap<>();

    @BeforeAll
    static void requireGpu() {
        CudaAvailabilityTest.assumeGpu();
        gpu = HostStaging.wrap(CudaOps.instance());
    }

    @BeforeEach
    void open() {
        arena = new Arena();
    }

    @AfterEach
    void close() {
        arena.close();
    }

    private Tensor r(double std, long... shape) {
        return arena.adopt(rnd.tensor(std, shape));
    }

    private Tensor nan(long... shape) {
        Tensor t = arena.f32(shape);
        t.fill(Float.NaN);
        return t;
    }

    /** Scratch space: its contents after an op are backend-specific and are not compared. */
    private Tensor ws(long n) {
        Tensor t = nan(Math.max(1, n));
        scratch.put(t, Boolean.TRUE);
        return t;
    }

    private Tensor ids(int bound, long... shape) {
        return arena.adopt(rnd.ids(bound, shape));
    }

    private Tensor ints(int... v) {
        return arena.adopt(Tensor.ofInts(v, v.length));
    }

    private Tensor copy(Tensor t) {
        if (t == null) return null;
        Tensor c = arena.allocate(t.dtype(), t.shape());
        c.copyFrom(t);
        return c;
    }

    /** Runs call on CPU and CUDA copies of ts; every tensor and the result must agree. */
    private void same(String what, double tol, BiFunction<Ops, Tensor[], Object> call, Tensor... ts) {
        Tensor[] c = Arrays.stream(ts).map(this::copy).toArray(Tensor[]::new);
        Tensor[] g = Arrays.stream(ts).map(this::copy).toArray(Tensor[]::new);
        Object rc = call.apply(CpuOps.INSTANCE, c);
        Object rg = call.apply(gpu, g);
        String tag = what + " " + rnd;
        if (rc instanceof double[]) {
            double[] a = (double[]) rc, b = (double[]) rg;
            for (int i = 0; i < a.length; i++) assertClose(tag + " result[" + i + "]", a[i], b[i], tol);
        } else if (rc instanceof Double) {
            assertClose(tag + " result", (Double) rc, (Double) rg, tol);
        } else {
            assertEquals(rc, rg, tag + " result");
        }
        for (int i = 0; i < ts.length; i++) {
            if (c[i] == null || scratch.containsKey(ts[i])) continue;
            if (c[i].dtype() == DType.I32) {
                if (!Arrays.equals(c[i].toIntArray(), g[i].toIntArray())) fail(tag + ": int tensor " + i + " differs");
                continue;
            }
            float[] ref = c[i].toFloatArray(), got = g[i].toFloatArray();
            double maxErr = 0, maxRef = 0;
            for (int k = 0; k < ref.length; k++) {
                if (Float.isNaN(got[k]) != Float.isNaN(ref[k])) fail(tag + ": tensor " + i + " NaN mismatch at " + k);
                if (Float.isNaN(ref[k])) continue;
                maxErr = Math.max(maxErr, Math.abs((double) got[k] - ref[k]));
                maxRef = Math.max(maxRef, Math.abs(ref[k]));
            }
            double e = maxErr / Math.max(maxRef, 1e-30);
            if (!(e <= tol)) fail(tag + ": tensor " + i + " relative error " + e + " > " + tol);
        }
    }

    private static void assertClose(String what, double a, double b, double tol) {
        double e = Math.abs(a - b) / Math.max(Math.abs(a), 1e-30);
        if (!(e <= tol)) fail(what + ": " + b + " vs CPU " + a);
    }

    @Test
    void linear() {
        int M = 37, K = 70, N = 53;
        same("linear fwd", FP32_TOL, (o, t) -> { o.linearForward(t[0], t[1], t[2], t[3]); return null; },
                nan(M, N), r(1, M, K), r(0.3, N, K), r(1, N));
        same("linear bwd", FP32_TOL, (o, t) -> { o.linearBackward(t[0], t[1], t[2], t[3], t[4], t[5]); return null; },
                r(1, M, K), r(1, N, K), r(1, N), r(1, M, N), r(1, M, K), r(0.3, N, K));
    }

    @Test
    void lora() {
        int M = 19, K = 40, N = 33, rank = 8;
        for (float p : new float[] {0f, 0.25f}) {
            long ws = Math.max(CpuOps.INSTANCE.loraWorkspaceFloats(M, K, N, rank, p), gpu.loraWorkspaceFloats(M, K, N, rank, p));
            same("lora fwd p=" + p, FP32_TOL, (o, t) -> {
                o.loraForward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], 2f, p, 42L, t[7]);
                return null;
            }, nan(M, N), nan(M, rank), r(1, M, K), r(0.3, N, K), r(1, N), r(0.3, rank, K), r(0.3, N, rank), ws(ws));
            Tensor x = r(1, M, K), tt = r(1, M, rank);
            same("lora bwd p=" + p, FP32_TOL, (o, t) -> {
                o.loraBackward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], 2f, p,
                        42L, t[11]);
                return null;
            }, r(1, M, K), r(1, N, K), r(1, N), r(1, rank, K), r(1, N, rank), r(1, M, N), x, tt, r(0.3, N, K),
                    r(0.3, rank, K), r(0.3, N, rank), ws(ws));
        }
    }

    @Test
    void loraMulti() {
        int M = 23, K = 40, N = 33;
        int[] ranks = {8, 0, 3, 16};
        float[] scales = {2f, 1f, 0.5f, -1.25f};
        int n = ranks.length;
        // rows with no adapter, one adapter on a contiguous run and on scattered rows, single rows
        int[] slot = new int[M];
        for (int i = 0; i < M; i++) slot[i] = i < 6 ? 3 : (i % 5 == 0 ? -1 : i % n);
        long ws = Math.max(CpuOps.INSTANCE.loraMultiWorkspaceFloats(M, K, N, 16), gpu.loraMultiWorkspaceFloats(M, K, N, 16));
        Tensor[] args = new Tensor[4 + 2 * n];
        args[0] = r(1, M, N);
        args[1] = r(1, M, K);
        args[2] = ints(slot);
        args[3] = ws(ws);
        for (int s = 0; s < n; s++) {
            args[4 + s] = ranks[s] == 0 ? null : r(0.3, ranks[s], K);
            args[4 + n + s] = ranks[s] == 0 ? null : r(0.3, N, ranks[s]);
        }
        same("lora-multi fwd", FP32_TOL, (o, t) -> {
            o.loraMultiForward(t[0], t[1], t[2], Arrays.copyOfRange(t, 4, 4 + n), Arrays.copyOfRange(t, 4 + n, 4 + 2 * n),
                    ranks, scales, t[3]);
            return null;
        }, args);
        Tensor[] bad = {r(1, 2, N), r(1, 2, K), ints(0, n), ws(ws)};
        assertThrows(IndexOutOfBoundsException.class, () -> gpu.loraMultiForward(bad[0], bad[1], bad[2],
                new Tensor[n], new Tensor[n], new int[n], new float[n], bad[3]));
    }

    @Test
    void adapter() {
        int M = 21, d = 48;
        for (int m : new int[] {16, 200}) {
            for (Activation act : Activation.values()) {
                String tag = "adapter m=" + m + " " + act;
                same(tag + " fwd", FP32_TOL, (o, t) -> {
                    o.adapterForward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], act);
                    return null;
                }, nan(M, d), nan(M, m), nan(M, m), r(1, M, d), r(0.2, m, d), r(0.1, m), r(0.2, d, m), r(0.1, d));
                same(tag + " bwd", FP32_TOL, (o, t) -> {
                    o.adapterBackward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], act, t[11]);
                    return null;
                }, r(1, M, d), r(1, m, d), r(1, m), r(1, d, m), r(1, d), r(1, M, d), r(1, M, d), r(1, M, m), r(1, M, m),
                        r(0.2, m, d), r(0.2, d, m), ws((long) M * m));
            }
        }
    }

    @Test
    void embedding() {
        int M = 50, V = 13, d = 300;  // V < M: repeated ids exercise the atomic scatter
        Tensor ids = ids(V, M);
        same("embedding fwd", FP32_TOL, (o, t) -> { o.embeddingForward(t[0], t[1], t[2]); return null; },
                nan(M, d), ids, r(1, V, d));
        same("embedding bwd", FP32_TOL, (o, t) -> { o.embeddingBackward(t[0], t[1], t[2]); return null; },
                r(1, V, d), r(1, M, d), ids);
        Tensor bad = ints(0, V, 1);
        Tensor out = arena.zeros(3, d);
        assertThrows(IndexOutOfBoundsException.class, () -> gpu.embeddingForward(out, bad, r(1, V, d)));
        assertEquals(0f, out.get(0), "a bad batch leaves the output untouched");
    }

    @Test
    void rmsnorm() {
        for (int[] s : new int[][] {{1, 64}, {7, 33}, {13, 4096}, {3, 1}}) {
            int M = s[0], d = s[1];
            same("rmsnorm fwd " + M + "x" + d, FP32_TOL, (o, t) -> { o.rmsnormForward(t[0], t[1], t[2], t[3], 1e-5f); return null; },
                    nan(M, d), nan(M), r(1.3, M, d), r(1, d));
            Tensor rstd = arena.f32(M);
            CpuOps.INSTANCE.rmsnormForward(arena.f32(M, d), rstd, r(1.3, M, d), r(1, d), 1e-5f);
            same("rmsnorm bwd " + M + "x" + d, FP32_TOL, (o, t) -> { o.rmsnormBackward(t[0], t[1], t[2], t[3], t[4], t[5]); return null; },
                    r(1, M, d), r(1, d), r(1, M, d), r(1.3, M, d), r(1, d), rstd);
            // Gemma's (1 + w)
            same("rmsnorm offset fwd " + M + "x" + d, FP32_TOL, (o, t) -> {
                o.rmsnormForward(t[0], t[1], t[2], t[3], 1e-6f, 1f);
                return null;
            }, nan(M, d), nan(M), r(1.3, M, d), r(0.3, d));
            same("rmsnorm offset bwd " + M + "x" + d, FP32_TOL, (o, t) -> {
                o.rmsnormBackward(t[0], t[1], t[2], t[3], t[4], t[5], 1f);
                return null;
            }, r(1, M, d), r(1, d), r(1, M, d), r(1.3, M, d), r(0.3, d), rstd);
        }
    }

    @Test
    void rope() {
        int maxPos = 300, hd = 16, M = 9, nh = 3;
        RopeScaling[] scalings = {RopeScaling.none(10000f),
                new RopeScaling(500000f, RopeScaling.Type.LLAMA3, 8f, 1f, 4f, 64),
                new RopeScaling(10000f, RopeScaling.Type.LINEAR, 4f, 1f, 4f, 8192)};
        for (RopeScaling sc : scalings) {
            same("rope table " + sc.type(), FP32_TOL, (o, t) -> { o.ropeTable(t[0], t[1], maxPos, hd, sc); return null; },
                    nan(maxPos, hd / 2), nan(maxPos, hd / 2));
        }
        Tensor cos = arena.f32(maxPos, hd / 2), sin = arena.f32(maxPos, hd / 2);
        CpuOps.INSTANCE.ropeTable(cos, sin, maxPos, hd, RopeScaling.none(10000f));
        Tensor pos = ids(maxPos, M);
        same("rope fwd", FP32_TOL, (o, t) -> { o.ropeForward(t[0], t[1], t[2], t[3]); return null; },
                r(1, M, nh, hd), pos, cos, sin);
        same("rope bwd", FP32_TOL, (o, t) -> { o.ropeBackward(t[0], t[1], t[2], t[3]); return null; },
                r(1, M, nh, hd), pos, cos, sin);
        assertThrows(IndexOutOfBoundsException.class,
                () -> gpu.ropeForward(r(1, 1, nh, hd), ints(maxPos), cos, sin));
    }

    @Test
    void attention() {
        // {B, Tq, Tk, P, nh, nkv, hd}: training, GQA with prefix, decode into a cache, hd > 32 and odd sizes
        int[][] shapes = {{2, 17, 17, 0, 4, 2, 8}, {1, 40, 40, 5, 8, 2, 64}, {3, 1, 24, 0, 6, 3, 10}, {1, 9, 20, 3, 2, 1, 130}};
        // each shape also with Gemma 2's window, scale and soft cap (a small cap, so tanh bends the scores)
        java.util.List<AttentionShape> all = new java.util.ArrayList<>();
        for (int[] sh : shapes) {
            all.add(new AttentionShape(sh[0], sh[1], sh[2], sh[3], sh[4], sh[5], sh[6]));
            all.add(new AttentionShape(sh[0], sh[1], sh[2], sh[3], sh[4], sh[5], sh[6], 6, 0.4f, 2f));
        }
        for (AttentionShape s : all) {
            int B = s.B(), Tq = s.Tq(), Tk = s.Tk(), P = s.P(), nh = s.nh(), nkv = s.nkv(), hd = s.hd();
            int[] qs = new int[B];
            int[] kvs = new int[B * Tq];
            for (int b = 0; b < B; b++) {
                qs[b] = rnd.nextInt(Tk - Tq + 1);
                int packStart = rnd.nextInt(Tq);  // packed examples: queries from packStart on start there
                for (int i = 0; i < Tq; i++) kvs[b * Tq + i] = i >= packStart ? qs[b] + packStart : 0;
            }
            Tensor qStart = ints(qs), kvStart = ints(kvs);
            long ws = Math.max(CpuOps.INSTANCE.attentionWorkspaceFloats(s), gpu.attentionWorkspaceFloats(s));
            Tensor q = r(1, B, Tq, nh, hd), k = r(1, B, Tk, nkv, hd), v = r(1, B, Tk, nkv, hd);
            Tensor pk = P > 0 ? r(1, P, nkv, hd) : null, pv = P > 0 ? r(1, P, nkv, hd) : null;
            same("attention fwd " + s, FP32_TOL, (o, t) -> {
                o.attentionForward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], s, t[9]);
                return null;
            }, nan(B, Tq, nh, hd), nan(B, Tq, nh), q, k, v, pk, pv, qStart, kvStart, ws(ws));
            Tensor out = arena.f32(B, Tq, nh, hd), lse = arena.f32(B, Tq, nh);
            Tensor cpuWs = arena.f32(CpuOps.INSTANCE.attentionWorkspaceFloats(s));
            CpuOps.INSTANCE.attentionForward(out, lse, q, k, v, pk, pv, qStart, kvStart, s, cpuWs);
            same("attention bwd " + s, FP32_TOL, (o, t) -> {
                o.attentionBackward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12],
                        t[13], t[14], s, t[15]);
                return null;
            }, r(1, B, Tq, nh, hd), r(1, B, Tk, nkv, hd), r(1, B, Tk, nkv, hd), P > 0 ? r(1, P, nkv, hd) : null,
                    P > 0 ? r(1, P, nkv, hd) : null, r(1, B, Tq, nh, hd), out, lse, q, k, v, pk, pv, qStart, kvStart,
                    ws(ws));
        }
        int B = 2, Tq = 3, Tmax = 10, width = 12;
        same("kv write", FP32_TOL, (o, t) -> { o.kvWrite(t[0], t[1], t[2]); return null; },
                r(1, B, Tmax, width), r(1, B, Tq, width), ints(0, 7));
        assertThrows(IndexOutOfBoundsException.class,
                () -> gpu.kvWrite(r(1, B, Tmax, width), r(1, B, Tq, width), ints(0, 8)));
    }

    @Test
    void copyColumns() {
        // {dst rows, dst width, dstCol, src rows, src width, srcCol, rows, cols}; dst starts NaN, so a stray
        // write outside the block or a missed element inside it fails the comparison
        for (int[] c : new int[][] {{1, 8, 0, 1, 8, 0, 1, 8}, {5, 7, 3, 5, 1, 0, 5, 1}, {4, 9, 8, 6, 5, 4, 4, 1},
                {10, 30, 0, 12, 50, 0, 9, 30}, {37, 96, 0, 37, 160, 96, 37, 32}, {700, 300, 50, 800, 333, 133, 700, 200},
                {4, 8, 3, 4, 8, 2, 0, 4}, {4, 8, 3, 4, 8, 2, 4, 0}}) {
            same("copy columns " + Arrays.toString(c), 0, (o, t) -> { o.copyColumns(t[0], c[2], t[1], c[5], c[6], c[7]); return null; },
                    nan(c[0], c[1]), r(1, c[3], c[4]));
        }
        CudaOps cuda = CudaOps.instance();
        try (Tensor dst = cuda.allocate(DType.F32, 4, 10); Tensor src = cuda.allocate(DType.F32, 4, 10)) {
            assertThrows(IllegalArgumentException.class, () -> cuda.copyColumns(dst, 3, src, 0, 4, 8));
            assertThrows(IllegalArgumentException.class, () -> cuda.copyColumns(dst, 0, src, 0, 5, 2));
            assertThrows(IllegalArgumentException.class, () -> cuda.copyColumns(dst, 0, dst, 5, 4, 5));
            assertThrows(IllegalArgumentException.class, () -> cuda.copyColumns(dst, 0, arena.f32(4, 10), 0, 4, 2));
        }
    }

    @Test
    void elementwise() {
        for (int n : new int[] {1, 7, 1001, 70001}) {
            same("swiglu fwd n=" + n, FP32_TOL, (o, t) -> { o.swigluForward(t[0], t[1], t[2]); return null; },
                    nan(n), r(2, n), r(1, n));
            same("swiglu bwd n=" + n, FP32_TOL, (o, t) -> { o.swigluBackward(t[0], t[1], t[2], t[3], t[4]); return null; },
                    r(1, n), r(1, n), r(1, n), r(2, n), r(1, n));
            same("geglu fwd n=" + n, FP32_TOL, (o, t) -> { o.gegluForward(t[0], t[1], t[2]); return null; },
                    nan(n), r(2, n), r(1, n));
            same("geglu fwd in place n=" + n, FP32_TOL, (o, t) -> { o.gegluForward(t[0], t[0], t[1]); return null; },
                    r(2, n), r(1, n));
            same("geglu bwd n=" + n, FP32_TOL, (o, t) -> { o.gegluBackward(t[0], t[1], t[2], t[3], t[4]); return null; },
                    r(1, n), r(1, n), r(1, n), r(2, n), r(1, n));
            same("softcap fwd n=" + n, FP32_TOL, (o, t) -> { o.softcapForward(t[0], t[1], 3f); return null; },
                    nan(n), r(4, n));
            Tensor capped = arena.f32(n);
            CpuOps.INSTANCE.softcapForward(capped, r(4, n), 3f);
            same("softcap bwd n=" + n, FP32_TOL, (o, t) -> { o.softcapBackward(t[0], t[1], t[2], 3f); return null; },
                    r(1, n), r(1, n), capped);
            same("add n=" + n, FP32_TOL, (o, t) -> { o.add(t[0], t[1], t[2]); return null; }, nan(n), r(1, n), r(1, n));
            same("add aliased n=" + n, FP32_TOL, (o, t) -> { o.add(t[0], t[0], t[1]); return null; }, r(1, n), r(1, n));
            same("axpy n=" + n, FP32_TOL, (o, t) -> { o.axpy(t[0], -0.37f, t[1]); return null; }, r(1, n), r(1, n));
            same("scale n=" + n, FP32_TOL, (o, t) -> { o.scale(t[0], 0.3f); return null; }, r(1, n));
            same("sumsq n=" + n, 1e-9, (o, t) -> o.sumOfSquares(t[0]), r(1, n));
            // the gradient norm's one-pass form, twice: the second call reuses the uploaded pointer table
            same("sumsq of a list n=" + n, 1e-9, (o, t) -> {
                java.util.List<Tensor> l = java.util.List.of(t[0], t[1], t[2]);
                return o.sumOfSquares(l) + 2 * o.sumOfSquares(l);
            }, r(1, n), r(1, 7), r(0.5, 3 * n));
            same("adamw n=" + n, FP32_TOL, (o, t) -> {
                o.adamw(t[0], t[1], t[2], t[3], new AdamWParams(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f), 3);
                return null;
            }, r(1, n), r(1, n), r(0.1, n), arena.adopt(Tensor.of(absNormal(n), n)));
        }
    }

    private float[] absNormal(int n) {
        float[] v = rnd.normal(n, 0.01);
        for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]);
        return v;
    }

    /**
     * Device checks do not wait: a bad id leaves its failure on the device, later checking ops write nothing, and
     * the next read throws naming the op that failed; the status is clean afterwards.
     */
    @Test
    void aDeferredCheckSurfacesAtTheNextReadNamingItsOp() {
        CudaOps cuda = CudaOps.instance();
        int V = 13, d = 64;
        try (Tensor table = cuda.upload(r(1, V, d)); Tensor bad = cuda.upload(ints(0, V, 1));
             Tensor good = cuda.upload(ints(0, 1, 2)); Tensor out = cuda.allocate(DType.F32, 3, d)) {
            cuda.fill(out, 7f);
            cuda.embeddingForward(out, bad, table);   // returns at once
            cuda.embeddingForward(out, good, table);  // skipped: an earlier check failed
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, cuda::synchronize);
            if (!e.getMessage().startsWith("embedding: token id outside [0, 13)")) fail(e.getMessage());
            assertEquals(7f, cuda.readFloats(out)[0], "a failed check leaves the output untouched");
            cuda.embeddingForward(out, good, table);
            cuda.synchronize();
            float[] got = cuda.readFloats(out), tab = cuda.readFloats(table);
            assertEquals(tab[d + 5], got[d + 5], "after the failure is read, ops run again");
        }
    }

    /** A step's micro-batches add their losses on the device and are read once. */
    @Test
    void lossSumReadsOnceForEveryMicroBatch() {
        CudaOps cuda = CudaOps.instance();
        int M = 9, V = 700, d = 16, blockRows = 4;
        Tensor h = r(1, M, d), w = r(0.3, V, d);
        int[] tg = new int[M];
        for (int i = 0; i < M; i++) tg[i] = i % 4 == 3 ? -100 : rnd.nextInt(V);
        Tensor targets = ints(tg), ws = ws((long) blockRows * V);
        double[] one = CpuOps.INSTANCE.lmHeadCrossEntropy(null, null, h, w, targets, 0f, ws, blockRows);
        try (Tensor hd = cuda.upload(h); Tensor wd = cuda.upload(w); Tensor td = cuda.upload(targets);
             Tensor wsd = cuda.allocate(DType.F32, (long) blockRows * V); var acc = cuda.newLossSum()) {
            for (int i = 0; i < 3; i++) cuda.lmHeadCrossEntropyInto(acc, null, null, hd, wd, td, 0f, 0f, wsd, blockRows);
            double[] sum = acc.take();
            assertClose("three micro-batches' loss", 3 * one[0], sum[0], FP32_TOL);
            assertEquals(3 * one[1], sum[1], "counted targets");
            assertEquals(0.0, acc.take()[1], "take starts the sums again");
        }
    }

    @Test
    void crossEntropy() {
        int M = 9, V = 1500, d = 24;
        int[] tg = new int[M];
        for (int i = 0; i < M; i++) tg[i] = i % 4 == 3 ? -100 : rnd.nextInt(V);
        Tensor targets = ints(tg);
        same("cross-entropy", FP32_TOL, (o, t) -> o.crossEntropy(t[0], t[1], t[2], 0.5f), nan(M), r(3, M, V), targets);
        same("cross-entropy no grad", FP32_TOL, (o, t) -> o.crossEntropy(t[0], t[1], t[2], 0f), nan(M), r(3, M, V), targets);
        int blockRows = 4;
        same("lm-head cross-entropy", FP32_TOL, (o, t) -> o.lmHeadCrossEntropy(t[0], t[1], t[2], t[3], t[4],
                0.5f, t[5], blockRows), r(1, M, d), r(1, V, d), r(1, M, d), r(0.3, V, d), targets, ws((long) blockRows * V));
        same("lm-head cross-entropy softcap", FP32_TOL, (o, t) -> o.lmHeadCrossEntropy(t[0], t[1], t[2], t[3], t[4], 1.5f, 0.5f, t[5], blockRows), r(1, M, d), r(1, V, d), r(1, M, d), r(0.3, V, d), targets,
                ws((long) blockRows * V));
        assertThrows(IndexOutOfBoundsException.class,
                () -> gpu.crossEntropy(null, r(1, 2, V), ints(0, V), 1f));
    }

    @Test
    void sampling() {
        int V = 5000;
        SamplingParams[] params = {SamplingParams.GREEDY, new SamplingParams(0.8f, 0, 1f, 1f),
                new SamplingParams(1.0f, 40, 1f, 1.3f), new SamplingParams(0.7f, 0, 0.9f, 1f),
                new SamplingParams(1.2f, 50, 0.8f, 1.1f)};
        for (SamplingParams p : params) {
            for (int trial = 0; trial < 5; trial++) {
                float coin = rnd.nextInt(1000) / 1000f;
                Tensor recent = ints(rnd.nextInt(V), rnd.nextInt(V), 3, 3, V + 5);
                same("sample " + p + " coin=" + coin, FP32_TOL, (o, t) -> o.sample(t[0], p, t[1], 5, coin, t[2]),
                        r(3, V), recent, ws(2L * V));
            }
        }
        same("argmax", FP32_TOL, (o, t) -> o.argmax(t[0]), r(1, V));
        float[] ties = new float[100];
        Arrays.fill(ties, 1f);
        ties[3] = Float.NaN;
        same("argmax ties+NaN", FP32_TOL, (o, t) -> o.argmax(t[0]), arena.adopt(Tensor.of(ties, 100)));
    }
}
