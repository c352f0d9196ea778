package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class LinearTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // {M, K, N}: single rows, widths that are not multiples of 8, one big enough for the threaded bias sum;
    // up to 64 rows read w in place (every row-block split, w groups of 1-4 rows, K below one vector),
    // 65 is sgemm again. The last two split sgemm over the threads: by rows (for dW = dy^T.x, rows of
    // the transposed dy), and dx = dy.W of 21 rows by columns
    private static final int[][] SHAPES = {{1, 33, 1}, {7, 64, 45}, {13, 33, 45}, {1, 64, 45}, {13, 1, 7}, {300, 17, 257},
        {2, 5, 6}, {16, 300, 33}, {32, 288, 66}, {23, 47, 8}, {64, 40, 9}, {65, 33, 10}, {11, 1536, 130},
        {203, 130, 150}, {21, 310, 530}};

    static void backward(org.bytedeco.pytorch.Tensor y, Tensor dy) {
        y.backward(TorchRef.of(dy, false), new BoolOptional(), false, new TensorArrayRefOptional());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchLibtorch(Ops ops) {
        Rand rnd = new Rand();
        for (int[] s : SHAPES) {
            int M = s[0], K = s[1], N = s[2];
            for (boolean withBias : new boolean[] {true, false}) {
                String tag = M + "x" + K + "->" + N + (withBias ? " bias " : " ") + rnd;
                try (Arena arena = new Arena()) {
                    Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
                    Tensor w = arena.adopt(rnd.tensor(0.2, N, K));
                    Tensor b = withBias ? arena.adopt(rnd.tensor(1.0, N)) : null;
                    Tensor dy = arena.adopt(rnd.tensor(1.0, M, N));
                    Tensor y = arena.f32(M, N);
                    y.fill(Float.NaN);  // forward must overwrite y, never read it
                    ops.linearForward(y, x, w, b);

                    var tx = TorchRef.of(x, true);
                    var tw = TorchRef.of(w, true);
                    var tb = withBias ? TorchRef.of(b, true) : null;
                    var ty = tx.matmul(tw.t());
                    if (withBias) ty = ty.add(tb);
                    close("linear y " + tag, y, ty);

                    // backward accumulates: start from non-zero gradients
                    Tensor dx = arena.adopt(rnd.tensor(0.5, M, K));
                    Tensor dw = arena.adopt(rnd.tensor(0.5, N, K));
                    Tensor db = withBias ? arena.adopt(rnd.tensor(0.5, N)) : null;
                    var dx0 = TorchRef.of(dx, false);
                    var dw0 = TorchRef.of(dw, false);
                    var db0 = withBias ? TorchRef.of(db, false) : null;
                    ops.linearBackward(dx, dw, db, dy, x, w);
                    backward(ty, dy);
                    closeAdded("linear dx " + tag, dx, tx.grad(), dx0);
                    closeAdded("linear dw " + tag, dw, tw.grad(), dw0);
                    if (withBias) closeAdded("linear db " + tag, db, tb.grad(), db0);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void nullGradientsAreSkipped(Ops ops) {
        Rand rnd = new Rand();
        int M = 7, K = 33, N = 45;
        try (Arena arena = new Arena()) {
            Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
            Tensor w = arena.adopt(rnd.tensor(0.2, N, K));
            Tensor dy = arena.adopt(rnd.tensor(1.0, M, N));
            var tx = TorchRef.of(x, true);
            var tw = TorchRef.of(w, true);
            var ty = tx.matmul(tw.t());
            backward(ty, dy);

            // only dx (frozen weight, no bias)
            Tensor dx = arena.zeros(M, K);
            ops.linearBackward(dx, null, null, dy, x, w);
            close("linear dx alone " + rnd, dx, tx.grad());
            // only db: column sums of dy
            Tensor db = arena.zeros(N);
            ops.linearBackward(null, null, db, dy, x, w);
            close("linear db alone " + rnd, db, TorchRef.of(dy, false).sum(0));
            // only dw
            Tensor dw = arena.zeros(N, K);
            ops.linearBackward(null, dw, null, dy, x, w);
            close("linear dw alone " + rnd, dw, tw.grad());
            // nothing at all is a no-op
            ops.linearBackward(null, null, null, dy, x, w);
            Assertions.assertTrue(true);
        }
    }

    /**
     * On the CPU a decoding row's output does not depend on what it is batched with: up to 64 rows
     * every output is the same sum in the same order, so a sequence alone and the same sequence in a
     * server's batch pick the same greedy token even at a near-tie.
     */
    @org.junit.jupiter.api.Test
    void cpuRowsComeOutBitForBitTheSameAloneOrInABatch() {
        Ops ops = io.tune4j.ops.cpu.CpuOps.INSTANCE;
        Rand rnd = new Rand();
        int K = 290, N = 70;
        try (Arena arena = new Arena()) {
            Tensor w = arena.adopt(rnd.tensor(0.2, N, K));
            Tensor b = arena.adopt(rnd.tensor(0.5, N));
            Tensor x = arena.adopt(rnd.tensor(1.0, 64, K));
            float[] alone = new float[64 * N];
            for (int i = 0; i < 64; i++) {
                Tensor y = arena.f32(1, N);
                ops.linearForward(y, x.slice(i, i + 1), w, b);
                System.arraycopy(y.toFloatArray(), 0, alone, i * N, N);
            }
            for (int M : new int[] {2, 3, 5, 16, 31, 64}) {
                Tensor y = arena.f32(M, N);
                ops.linearForward(y, x.slice(0, M), w, b);
                float[] got = y.toFloatArray();
                for (int j = 0; j < M * N; j++) {
                    if (Float.floatToRawIntBits(got[j]) != Float.floatToRawIntBits(alone[j])) {
                        Assertions.fail("row " + j / N + " column " + j % N + " of a " + M + "-row batch: " + got[j]
                                + " alone " + alone[j] + " " + rnd);
                    }
                }
            }
        }
    }
}
