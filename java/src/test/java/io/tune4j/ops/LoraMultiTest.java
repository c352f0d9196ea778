package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.Scalar;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The segmented multi-adapter LoRA op against libtorch: each row's expected output is the base
 * output plus its own adapter's s (x A^T) B^T computed in float64, over odd shapes, mixed ranks
 * (including rank 0), rows with no adapter, contiguous and scattered rows of one adapter, and one
 * adapter for every row. The workspace is exactly the advertised size plus a guard tail.
 */
class LoraMultiTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    private static final int GUARD = 16;
    private static final float GUARD_VALUE = 12345.0f;

    /** One check: slot[i] per row, ranks per slot (0 = slot adds nothing). */
    static void check(Ops ops, Rand rnd, int K, int N, int[] slot, int[] ranks, String what) {
        int M = slot.length, n = ranks.length;
        String tag = what + " M=" + M + " K=" + K + " N=" + N + " ranks=" + java.util.Arrays.toString(ranks) + " " + rnd;
        try (Arena arena = new Arena()) {
            Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
            Tensor y = arena.adopt(rnd.tensor(2.0, M, N));  // the base projection's output, kept and added to
            Tensor rows = arena.adopt(Tensor.ofInts(slot, M));
            Tensor[] a = new Tensor[n], b = new Tensor[n];
            float[] scales = new float[n];
            int maxR = 0;
            for (int s = 0; s < n; s++) {
                scales[s] = (float) (0.25 + rnd.nextInt(16) / 4.0) * (s % 2 == 0 ? 1 : -1);
                if (ranks[s] == 0) continue;
                a[s] = arena.adopt(rnd.tensor(0.3, ranks[s], K));
                b[s] = arena.adopt(rnd.tensor(0.3, N, ranks[s]));
                maxR = Math.max(maxR, ranks[s]);
            }
            Tensor ws = arena.f32(ops.loraMultiWorkspaceFloats(M, K, N, maxR) + GUARD);
            ws.fill(GUARD_VALUE);

            var ty = TorchRef.of(y, false);
            var tx = TorchRef.of(x, false);
            double[] expected = new double[M * N];
            for (int i = 0; i < M; i++) {
                int s = slot[i];
                var row = ty.narrow(0, i, 1);
                if (s >= 0 && ranks[s] > 0) {
                    var xi = tx.narrow(0, i, 1);
                    var upd = xi.matmul(TorchRef.of(a[s], false).t()).matmul(TorchRef.of(b[s], false).t());
                    row = row.add(upd.mul(new Scalar((double) scales[s])));
                }
                System.arraycopy(TorchRef.values(row), 0, expected, i * N, N);
            }
            ops.loraMultiForward(y, x, rows, a, b, ranks, scales, ws);
            close("lora-multi y " + tag, y.toFloatArray(), expected, io.tune4j.testing.Check.FP32_TOL);
            float[] w = ws.toFloatArray();
            for (int i = w.length - GUARD; i < w.length; i++) {
                assertEquals(GUARD_VALUE, w[i], tag + ": op wrote past its advertised workspace");
            }
            assertArrayEquals(slot, rows.toIntArray(), tag + ": the row table is an input");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void mixedAdaptersMatchLibtorch(Ops ops) {
        Rand rnd = new Rand();
        int[] ranks = {4, 16, 0, 1, 7};
        // decode: one row per sequence, adapters mixed, some rows on the base model
        check(ops, rnd, 33, 45, new int[] {0, -1, 1, 3, 4, 2, -1, 1}, ranks, "decode");
        // prefill chunks (contiguous runs) next to decode rows of the same adapter (scattered)
        int[] mixed = new int[37];
        for (int i = 0; i < mixed.length; i++) mixed[i] = i < 3 ? i % 2 : (i < 20 ? 1 : (i < 31 ? 4 : (i % 3) - 1));
        check(ops, rnd, 64, 29, mixed, ranks, "prefill+decode");
        // a single row
        check(ops, rnd, 17, 1, new int[] {1}, ranks, "one row");
        // nothing to add: every row on the base model or on a rank-0 slot
        check(ops, rnd, 20, 21, new int[] {-1, 2, -1}, ranks, "no adapter");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void oneAdapterForEveryRow(Ops ops) {
        Rand rnd = new Rand();
        int[] all = new int[41];
        java.util.Arrays.fill(all, 0);
        check(ops, rnd, 50, 70, all, new int[] {12}, "one adapter, contiguous");
        int[] interleaved = new int[19];
        for (int i = 0; i < interleaved.length; i++) interleaved[i] = i % 2 == 0 ? 1 : -1;
        check(ops, rnd, 31, 9, interleaved, new int[] {3, 5}, "one adapter, scattered");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void badArgumentsAreErrorsNotCrashes(Ops ops) {
        try (Arena arena = new Arena()) {
            int K = 8, N = 6;
            Tensor x = arena.f32(2, K), y = arena.f32(2, N);
            Tensor a = arena.f32(2, K), b = arena.f32(N, 2);
            Tensor ws = arena.f32(ops.loraMultiWorkspaceFloats(2, K, N, 2) + 1);
            Tensor[] as = {a}, bs = {b};
            int[] ranks = {2};
            float[] scales = {1f};
            assertThrows(IndexOutOfBoundsException.class, () -> ops.loraMultiForward(y, x,
                    arena.adopt(Tensor.ofInts(new int[] {0, 1}, 2)), as, bs, ranks, scales, ws));
            assertThrows(IndexOutOfBoundsException.class, () -> ops.loraMultiForward(y, x,
                    arena.adopt(Tensor.ofInts(new int[] {-2, 0}, 2)), as, bs, ranks, scales, ws));
            Tensor rows = arena.adopt(Tensor.ofInts(new int[] {0, -1}, 2));
            assertThrows(IllegalArgumentException.class, () -> ops.loraMultiForward(y, x, rows, as, bs,
                    new int[] {2, 1}, scales, ws));
            assertThrows(IllegalArgumentException.class, () -> ops.loraMultiForward(y, x, rows, new Tensor[1], bs,
                    ranks, scales, ws));
            assertThrows(IllegalArgumentException.class, () -> ops.loraMultiForward(y, x, rows, as, bs,
                    new int[] {4}, scales, ws));  // A holds too few elements for rank 4
        }
    }
}
