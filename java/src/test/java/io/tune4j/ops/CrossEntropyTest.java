package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Check;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CrossEntropyTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    static final int IGNORE = -100;

    /** Targets in [0,V) with about a quarter of the rows ignored (always at least one of each when M > 1). */
    static int[] targets(Rand rnd, int M, int V) {
        int[] t = new int[M];
        for (int i = 0; i < M; i++) t[i] = rnd.nextInt(4) == 0 ? IGNORE : rnd.nextInt(V);
        if (M > 1) {
            t[0] = IGNORE;
            t[1] = rnd.nextInt(V);
        }
        return t;
    }

    /** Per-row -log_softmax(x)[t] (0 for ignored rows) from torch: nll_loss(reduction none, ignore -100). */
    static org.bytedeco.pytorch.Tensor torchLosses(org.bytedeco.pytorch.Tensor logits, int[] t) {
        return torch.nll_loss(torch.log_softmax(logits, 1), TorchRef.ofLongs(t, t.length), new TensorOptional(), 0, IGNORE);
    }

    /** d(gradScale * sum(losses)) / d(losses): the upstream gradient the fused kernel bakes in. */
    static org.bytedeco.pytorch.Tensor filled(int n, float value) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, value);
        return TorchRef.of(v, false, n);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void lossAndGradientMatchLibtorch(Ops ops) {
        Rand rnd = new Rand();
        int[][] shapes = {{3, 1}, {9, 37}, {17, 512}, {6, 5000}, {1, 1000}};
        for (int[] s : shapes) {
            int M = s[0], V = s[1];
            float gradScale = (float) (0.5 + rnd.nextInt(100) / 100.0);
            try (Arena arena = new Arena()) {
                // wide logits, some large, so the online max really rescales between chunks
                Tensor logits = arena.adopt(rnd.tensor(4.0, M, V));
                int[] t = targets(rnd, M, V);
                Tensor targets = arena.adopt(Tensor.ofInts(t, M));
                Tensor losses = arena.f32(M);
                var tl = TorchRef.of(logits, true);
                int counted = ops.crossEntropy(losses, logits, targets, gradScale);

                var ref = torchLosses(tl, t);
                String what = "cross-entropy " + M + "x" + V + " " + rnd;
                close(what + " losses", losses, ref);
                int expect = 0;
                for (int x : t) if (x != IGNORE) expect++;
                assertEquals(expect, counted, what + " counted rows");
                // gradient of gradScale * sum(losses)
                ref.backward(filled(M, gradScale), new BoolOptional(), false, new TensorArrayRefOptional());
                close(what + " grad", logits, tl.grad());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void zeroGradScaleComputesLossOnly(Ops ops) {
        Rand rnd = new Rand();
        int M = 5, V = 700;
        try (Arena arena = new Arena()) {
            Tensor logits = arena.adopt(rnd.tensor(2.0, M, V));
            int[] t = targets(rnd, M, V);
            float[] before = logits.toFloatArray();
            var ref = torchLosses(TorchRef.of(logits, false), t);
            Tensor losses = arena.f32(M);
            ops.crossEntropy(losses, logits, arena.adopt(Tensor.ofInts(t, M)), 0f);
            close("cross-entropy loss only " + rnd, losses, ref);
            assertArrayEquals(before, logits.toFloatArray(), 0f);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void lmHeadMatchesLibtorch(Ops ops) {
        Rand rnd = new Rand();
        // {M, d, V, blockRows}: blocks that divide M, that do not, and one larger than M
        int[][] shapes = {{7, 16, 37, 3}, {12, 32, 512, 4}, {5, 24, 5000, 2}, {4, 8, 1, 8}, {9, 20, 300, 9}};
        for (int[] s : shapes) {
            int M = s[0], d = s[1], V = s[2], br = s[3];
            float gradScale = 1f / M;
            try (Arena arena = new Arena()) {
                Tensor h = arena.adopt(rnd.tensor(1.0, M, d));
                Tensor w = arena.adopt(rnd.tensor(0.5, V, d));
                int[] t = targets(rnd, M, V);
                Tensor targets = arena.adopt(Tensor.ofInts(t, M));
                Tensor dh = arena.adopt(rnd.tensor(0.1, M, d));
                Tensor dw = arena.adopt(rnd.tensor(0.1, V, d));
                var dh0 = TorchRef.of(dh, false);
                var dw0 = TorchRef.of(dw, false);
                Tensor ws = arena.f32((long) br * V);
                double[] out = ops.lmHeadCrossEntropy(dh, dw, h, w, targets, gradScale, ws, br);

                var th = TorchRef.of(h, true);
                var tw = TorchRef.of(w, true);
                var losses = torchLosses(th.matmul(tw.t()), t);
                var total = losses.sum();
                String what = "lm-head CE M=" + M + " d=" + d + " V=" + V + " block " + br + " " + rnd;
                int expect = 0;
                for (int x : t) if (x != IGNORE) expect++;
                assertEquals(expect, (int) out[1], what + " counted rows");
                close(what + " loss", new float[] {(float) out[0]}, TorchRef.values(total), Check.FP32_TOL);
                losses.backward(filled(M, gradScale), new BoolOptional(), false, new TensorArrayRefOptional());
                closeAdded(what + " dh", dh, th.grad(), dh0);
                closeAdded(what + " dw", dw, tw.grad(), dw0);

                // evaluation: no gradients, same loss, nothing written
                double[] eval = ops.lmHeadCrossEntropy(null, null, h, w, targets, gradScale, ws, br);
                close(what + " eval loss", new float[] {(float) eval[0]}, TorchRef.values(total), Check.FP32_TOL);
                assertEquals(out[1], eval[1]);
            }
        }
    }

    /** Gemma 2's final-logit soft-capping: the loss over cap * tanh(h w^T / cap), gradients through the cap. */
    @ParameterizedTest
    @MethodSource("backends")
    void lmHeadWithSoftcapMatchesLibtorch(Ops ops) {
        Rand rnd = new Rand();
        // {M, d, V, blockRows}: blocks that divide M, that do not, and one larger than M
        int[][] shapes = {{7, 16, 37, 3}, {12, 32, 512, 4}, {5, 24, 5000, 2}, {4, 8, 1, 8}, {9, 20, 300, 9}};
        // Gemma 2's 30, and caps that bend most logits (h w^T has a standard deviation of 2 to 3 here)
        float[] caps = {30f, 3f, 1.5f};
        for (float cap : caps) {
            for (int[] s : shapes) {
                int M = s[0], d = s[1], V = s[2], br = s[3];
                float gradScale = 1f / M;
                try (Arena arena = new Arena()) {
                    Tensor h = arena.adopt(rnd.tensor(1.0, M, d));
                    Tensor w = arena.adopt(rnd.tensor(0.5, V, d));
                    int[] t = targets(rnd, M, V);
                    Tensor targets = arena.adopt(Tensor.ofInts(t, M));
                    Tensor dh = arena.adopt(rnd.tensor(0.1, M, d));
                    Tensor dw = arena.adopt(rnd.tensor(0.1, V, d));
                    var dh0 = TorchRef.of(dh, false);
                    var dw0 = TorchRef.of(dw, false);
                    Tensor ws = arena.f32((long) br * V);
                    ws.fill(Float.NaN);  // scratch: the op must write the logits before it reads them
                    double[] out = ops.lmHeadCrossEntropy(dh, dw, h, w, targets, cap, gradScale, ws, br);

                    var th = TorchRef.of(h, true);
                    var tw = TorchRef.of(w, true);
                    var c = new org.bytedeco.pytorch.Scalar((double) cap);
                    var losses = torchLosses(torch.tanh(th.matmul(tw.t()).div(c)).mul(c), t);
                    var total = losses.sum();
                    String what = "lm-head CE softcap " + cap + " M=" + M + " d=" + d + " V=" + V + " block " + br
                            + " " + rnd;
                    int expect = 0;
                    for (int x : t) if (x != IGNORE) expect++;
                    assertEquals(expect, (int) out[1], what + " counted rows");
                    close(what + " loss", new float[] {(float) out[0]}, TorchRef.values(total), Check.FP32_TOL);
                    losses.backward(filled(M, gradScale), new BoolOptional(), false, new TensorArrayRefOptional());
                    closeAdded(what + " dh", dh, th.grad(), dh0);
                    closeAdded(what + " dw", dw, tw.grad(), dw0);

                    // evaluation: no gradients, same loss
                    double[] eval = ops.lmHeadCrossEntropy(null, null, h, w, targets, cap, gradScale, ws, br);
                    close(what + " eval loss", new float[] {(float) eval[0]}, TorchRef.values(total), Check.FP32_TOL);
                    assertEquals(out[1], eval[1]);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aNegativeOrInfiniteSoftcapIsRefused(Ops ops) {
        try (Arena arena = new Arena()) {
            Tensor h = arena.zeros(2, 3), w = arena.zeros(4, 3), ws = arena.f32(8);
            Tensor targets = arena.adopt(Tensor.ofInts(new int[] {1, 2}, 2));
            for (float bad : new float[] {-1f, Float.NaN, Float.POSITIVE_INFINITY}) {
                assertThrows(IllegalArgumentException.class,
                        () -> ops.lmHeadCrossEntropy(null, null, h, w, targets, bad, 1f, ws, 2));
            }
        }
    }

    /** A step's loss: micro-batches add to one LossSum and the step takes the total once. */
    @ParameterizedTest
    @MethodSource("backends")
    void lossSumAddsMicroBatches(Ops ops) {
        Rand rnd = new Rand();
        int M = 9, d = 12, V = 300, br = 4;
        try (Arena arena = new Arena(); LossSum acc = ops.newLossSum()) {
            double expectSum = 0, expectCount = 0;
            for (int batch = 0; batch < 3; batch++) {
                Tensor h = arena.adopt(rnd.tensor(1.0, M, d));
                Tensor w = arena.adopt(rnd.tensor(0.5, V, d));
                Tensor targets = arena.adopt(Tensor.ofInts(targets(rnd, M, V), M));
                Tensor ws = arena.f32((long) br * V);
                Tensor dh1 = arena.zeros(M, d), dw1 = arena.zeros(V, d), dh2 = arena.zeros(M, d), dw2 = arena.zeros(V, d);
                double[] one = ops.lmHeadCrossEntropy(dh1, dw1, h, w, targets, 0f, 0.25f, ws, br);
                ops.lmHeadCrossEntropyInto(acc, dh2, dw2, h, w, targets, 0f, 0.25f, ws, br);
                assertArrayEquals(dh1.toFloatArray(), dh2.toFloatArray(), 0f, "dh " + rnd);
                assertArrayEquals(dw1.toFloatArray(), dw2.toFloatArray(), 0f, "dw " + rnd);
                expectSum += one[0];
                expectCount += one[1];
            }
            double[] got = acc.take();
            // the CPU adds the same doubles in the same order; a GPU adds them on the device
            assertEquals(expectSum, got[0], Math.abs(expectSum) * 1e-12, "summed loss " + rnd);
            assertEquals(expectCount, got[1]);
            assertArrayEquals(new double[] {0, 0}, acc.take(), 0.0, "a take starts from zero");

            // a bad target throws (on a GPU at the next read), names the op and adds nothing
            Tensor h = arena.adopt(rnd.tensor(1.0, 2, d)), w = arena.adopt(rnd.tensor(0.5, V, d));
            Tensor bad = arena.adopt(Tensor.ofInts(new int[] {1, V}, 2)), dh = arena.zeros(2, d);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> ops.lmHeadCrossEntropyInto(acc, dh, null, h, w, bad, 0f, 1f, arena.f32((long) br * V), br));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("target outside [0, " + V + ")"),
                    e.getMessage());
            assertArrayEquals(new double[] {0, 0}, acc.take(), 0.0);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void badTargetsThrowBeforeWriting(Ops ops) {
        Rand rnd = new Rand();
        int M = 4, V = 10, d = 3;
        try (Arena arena = new Arena()) {
            for (int bad : new int[] {V, -1, -101, Integer.MIN_VALUE}) {
                Tensor logits = arena.adopt(rnd.tensor(1.0, M, V));
                float[] before = logits.toFloatArray();
                Tensor targets = arena.adopt(Tensor.ofInts(new int[] {1, IGNORE, 2, bad}, M));
                Tensor losses = arena.zeros(M);
                assertThrows(IndexOutOfBoundsException.class, () -> ops.crossEntropy(losses, logits, targets, 1f));
                assertArrayEquals(before, logits.toFloatArray(), 0f);

                Tensor h = arena.adopt(rnd.tensor(1.0, M, d));
                Tensor w = arena.adopt(rnd.tensor(1.0, V, d));
                Tensor dh = arena.zeros(M, d), dw = arena.zeros(V, d), ws = arena.f32(2L * V);
                assertThrows(IndexOutOfBoundsException.class,
                        () -> ops.lmHeadCrossEntropy(dh, dw, h, w, targets, 1f, ws, 2));
                assertArrayEquals(new float[M * d], dh.toFloatArray(), 0f);
                assertArrayEquals(new float[V * d], dw.toFloatArray(), 0f);
            }
        }
    }
}
