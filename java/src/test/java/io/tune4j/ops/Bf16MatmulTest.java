package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Check;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * BF16 matrix products (AMX) against libtorch in float64 on operands rounded to bf16 the way the
 * kernels round them: what is left is fp32 summation, held to the fp32 tolerance. Shapes cover
 * tile edges (not multiples of 16 or 32) and K long enough to be walked in chunks.
 */
class Bf16MatmulTest {
    private final Ops ops = CpuOps.INSTANCE;

    @BeforeEach
    void bf16() {
        Assumptions.assumeTrue(CpuOps.bf16Supported(),
                "bf16 matmul tests skipped: this CPU has no AMX-BF16 (or the OS refused the tile state)");
        assertEquals(MatmulPrecision.BF16, ops.setMatmulPrecision(MatmulPrecision.BF16));
    }

    @AfterEach
    void fp32() {
        ops.setMatmulPrecision(MatmulPrecision.FP32);
    }

    /** Round-to-nearest-even to bf16, as VCVTNE2PS2BF16 does (no NaNs in these inputs). */
    static float bf16(float x) {
        int u = Float.floatToRawIntBits(x);
        u = (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
        return Float.intBitsToFloat(u);
    }

    static Tensor rounded(Arena arena, Tensor t) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = bf16(v[i]);
        return arena.adopt(Tensor.of(v, t.shape()));
    }

    @Test
    void linearForwardAndBackwardSumBf16ProductsInFp32() {
        Rand rnd = new Rand();
        int[][] shapes = {{96, 200, 130}, {257, 576, 300}, {50, 1100, 70}, {33, 64, 1000}};
        for (int[] s : shapes) {
            int M = s[0], K = s[1], N = s[2];
            String tag = M + "x" + K + "->" + N + " " + rnd;
            try (Arena arena = new Arena()) {
                Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
                Tensor w = arena.adopt(rnd.tensor(0.2, N, K));
                Tensor b = arena.adopt(rnd.tensor(1.0, N));
                Tensor dy = arena.adopt(rnd.tensor(1.0, M, N));
                Tensor y = arena.adopt(rnd.tensor(5.0, M, N));
                ops.linearForward(y, x, w, b);
                var xr = TorchRef.of(rounded(arena, x), false);
                var wr = TorchRef.of(rounded(arena, w), false);
                var dyr = TorchRef.of(rounded(arena, dy), false);
                close("bf16 linear y " + tag, y, xr.matmul(wr.t()).add(TorchRef.of(b, false)));

                Tensor dx = arena.adopt(rnd.tensor(0.5, M, K));
                Tensor dw = arena.adopt(rnd.tensor(0.5, N, K));
                var dx0 = TorchRef.of(dx, false);
                var dw0 = TorchRef.of(dw, false);
                ops.linearBackward(dx, dw, null, dy, x, w);
                closeAdded("bf16 linear dx " + tag, dx, dyr.matmul(wr), dx0);
                closeAdded("bf16 linear dw " + tag, dw, dyr.t().matmul(xr), dw0);
            }
        }
    }

    @Test
    void lmHeadLossUsesBf16LogitsAndItsGradientsStayClose() {
        Rand rnd = new Rand();
        int M = 200, d = 96, V = 700;
        try (Arena arena = new Arena()) {
            Tensor h = arena.adopt(rnd.tensor(1.0, M, d));
            Tensor w = arena.adopt(rnd.tensor(0.1, V, d));
            int[] t = new int[M];
            for (int i = 0; i < M; i++) t[i] = i % 7 == 0 ? -100 : rnd.nextInt(V);
            Tensor targets = arena.adopt(Tensor.ofInts(t, M));
            Tensor dh = arena.adopt(Tensor.zeros(M, d));
            Tensor dw = arena.adopt(Tensor.zeros(V, d));
            int block = 64;  // several row blocks share one converted w; the last holds 8 rows
            Tensor ws = arena.adopt(Tensor.zeros((long) block * V));
            double[] r = ops.lmHeadCrossEntropy(dh, dw, h, w, targets, 1f, ws, block);

            var hr = TorchRef.of(rounded(arena, h), false);
            var wr = TorchRef.of(rounded(arena, w), false);
            double[] logits = TorchRef.values(hr.matmul(wr.t()));
            double loss = 0;
            int counted = 0;
            for (int i = 0; i < M; i++) {
                if (t[i] < 0) continue;
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int v = 0; v < V; v++) max = Math.max(max, logits[i * V + v]);
                for (int v = 0; v < V; v++) sum += Math.exp(logits[i * V + v] - max);
                loss += max + Math.log(sum) - logits[i * V + t[i]];
                counted++;
            }
            assertEquals(counted, (int) r[1]);
            assertTrue(Math.abs(r[0] - loss) <= Check.FP32_TOL * Math.abs(loss), "loss " + r[0] + " vs " + loss + " " + rnd);

            // the gradients multiply bf16-rounded softmax outputs: compare with the fp32 math at bf16's resolution
            ops.setMatmulPrecision(MatmulPrecision.FP32);
            Tensor dh32 = arena.adopt(Tensor.zeros(M, d));
            Tensor dw32 = arena.adopt(Tensor.zeros(V, d));
            ops.lmHeadCrossEntropy(dh32, dw32, h, w, targets, 1f, ws, block);
            close("bf16 lm head dh", dh.toFloatArray(), toDouble(dh32), 1e-2);
            close("bf16 lm head dw", dw.toFloatArray(), toDouble(dw32), 1e-2);
        }
    }

    @Test
    void loraForwardAndBackwardStayWithinBf16OfFp32() {
        Rand rnd = new Rand();
        int M = 256, K = 192, N = 160, r = 16;
        float scale = 2f, dropout = 0.1f;
        long seed = 11;
        try (Arena arena = new Arena()) {
            Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
            Tensor w = arena.adopt(rnd.tensor(0.1, N, K));
            Tensor a = arena.adopt(rnd.tensor(0.1, r, K));
            Tensor b = arena.adopt(rnd.tensor(0.1, N, r));
            Tensor dy = arena.adopt(rnd.tensor(1.0, M, N));
            Tensor ws = arena.adopt(Tensor.zeros(Math.max(1, ops.loraWorkspaceFloats(M, K, N, r, dropout))));
            float[][] bf16 = lora(arena, x, w, a, b, dy, ws, M, K, N, r, scale, dropout, seed);
            ops.setMatmulPrecision(MatmulPrecision.FP32);
            float[][] fp32 = lora(arena, x, w, a, b, dy, ws, M, K, N, r, scale, dropout, seed);
            String[] names = {"y", "dx", "dA", "dB"};
            for (int i = 0; i < names.length; i++) {
                double e = Check.relErr(bf16[i], toDouble(fp32[i]));
                assertTrue(e > 0 && e <= 1e-2, "bf16 lora " + names[i] + ": relative error " + e + " vs fp32");
            }
        }
    }

    @Test
    void loraWithoutDropoutJoinsBaseAndLowRankInOneBf16Product() {
        Rand rnd = new Rand();
        // K not a multiple of 32: the joined operands carry zero padding between the two parts
        int M = 100, K = 200, N = 70, r = 8;
        float scale = 2f;  // a power of two: bf16(s*B) = s*bf16(B)
        String tag = "M=" + M + " K=" + K + " N=" + N + " r=" + r + " " + rnd;
        try (Arena arena = new Arena()) {
            Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
            Tensor w = arena.adopt(rnd.tensor(0.1, N, K));
            Tensor a = arena.adopt(rnd.tensor(0.1, r, K));
            Tensor b = arena.adopt(rnd.tensor(0.1, N, r));
            Tensor dy = arena.adopt(rnd.tensor(1.0, M, N));
            Tensor ws = arena.adopt(Tensor.zeros(Math.max(1, ops.loraWorkspaceFloats(M, K, N, r, 0f))));
            Tensor y = arena.adopt(Tensor.zeros(M, N));
            Tensor t = arena.adopt(Tensor.zeros(M, r));
            Tensor dx = arena.adopt(rnd.tensor(0.5, M, K));
            var dx0 = TorchRef.of(dx, false);
            ops.loraForward(y, t, x, w, null, a, b, scale, 0f, 1, ws);
            var xr = TorchRef.of(rounded(arena, x), false);
            var wr = TorchRef.of(rounded(arena, w), false);
            var tr = TorchRef.of(rounded(arena, t), false);
            var br = TorchRef.of(rounded(arena, b), false).mul(new org.bytedeco.pytorch.Scalar(scale));
            close("bf16 lora y " + tag, y, xr.matmul(wr.t()).add(tr.matmul(br.t())));

            ops.loraBackward(dx, null, null, null, null, dy, x, t, w, a, b, scale, 0f, 1, ws);
            // the workspace starts with dt = s.dy.B, the low-rank part's input gradient
            float[] dt = java.util.Arrays.copyOf(ws.toFloatArray(), M * r);
            var dyr = TorchRef.of(rounded(arena, dy), false);
            var dtr = TorchRef.of(rounded(arena, arena.adopt(Tensor.of(dt, M, r))), false);
            var ar = TorchRef.of(rounded(arena, a), false);
            closeAdded("bf16 lora dx " + tag, dx, dyr.matmul(wr).add(dtr.matmul(ar)), dx0);
        }
    }

    private float[][] lora(Arena arena, Tensor x, Tensor w, Tensor a, Tensor b, Tensor dy, Tensor ws, int M, int K,
                           int N, int r, float scale, float dropout, long seed) {
        Tensor y = arena.adopt(Tensor.zeros(M, N));
        Tensor t = arena.adopt(Tensor.zeros(M, r));
        Tensor dx = arena.adopt(Tensor.zeros(M, K));
        Tensor da = arena.adopt(Tensor.zeros(r, K));
        Tensor db = arena.adopt(Tensor.zeros(N, r));
        ops.loraForward(y, t, x, w, null, a, b, scale, dropout, seed, ws);
        ops.loraBackward(dx, null, null, da, db, dy, x, t, w, a, b, scale, dropout, seed, ws);
        return new float[][] {y.toFloatArray(), dx.toFloatArray(), da.toFloatArray(), db.toFloatArray()};
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test
    void precisionBelongsToTheCallingThread() throws InterruptedException {
        AtomicReference<MatmulPrecision> other = new AtomicReference<>();
        Thread t = new Thread(() -> other.set(ops.matmulPrecision()));
        t.start();
        t.join();
        assertEquals(MatmulPrecision.BF16, ops.matmulPrecision());
        assertEquals(MatmulPrecision.FP32, other.get());
    }

    private static double[] toDouble(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
