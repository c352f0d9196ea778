package io.tune4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * copyColumns against a plain Java copy: the block must arrive bit for bit, and every destination element
 * outside it (poisoned with NaN) must stay as it was.
 */
class CopyColumnsTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // {dst rows, dst width, dstCol, src rows, src width, srcCol, rows, cols}
    private static final int[][] CASES = {
            {1, 8, 0, 1, 8, 0, 1, 8},         // one row, full width on both sides
            {5, 7, 3, 5, 1, 0, 5, 1},         // one column into the middle
            {1, 1, 0, 1, 1, 0, 1, 1},         // a single element
            {4, 9, 8, 6, 5, 4, 4, 1},         // last column of both
            {3, 6, 0, 3, 20, 14, 3, 6},       // full dst width from src's last columns
            {3, 20, 14, 3, 6, 0, 3, 6},       // full src width into dst's last columns
            {10, 30, 0, 12, 50, 0, 9, 30},    // fewer rows than either holds
            {7, 13, 5, 7, 13, 5, 7, 3},       // same offsets, same widths
            {700, 300, 50, 800, 333, 133, 700, 200},  // 140000 elements: the threaded path
            {4, 8, 3, 4, 8, 2, 0, 4},         // no rows: nothing moves
            {4, 8, 3, 4, 8, 2, 4, 0},         // no columns: nothing moves
            {4, 8, 8, 4, 8, 8, 4, 0},         // an empty block at the very end
    };

    @ParameterizedTest
    @MethodSource("backends")
    void blocksMatchAPlainCopy(Ops ops) {
        Rand rnd = new Rand();
        for (int[] c : CASES) {
            String tag = ops + " case " + java.util.Arrays.toString(c) + " " + rnd;
            try (Arena arena = new Arena()) {
                Tensor src = arena.adopt(rnd.tensor(1.0, c[3], c[4]));
                Tensor dst = arena.f32(c[0], c[1]);
                dst.fill(Float.NaN);
                ops.copyColumns(dst, c[2], src, c[5], c[6], c[7]);
                checkBlock(tag, dst.toFloatArray(), c[1], c[2], c[0], src.toFloatArray(), c[4], c[5], c[6], c[7]);
            }
        }
    }

    /** Phi-3's fused qkv_proj: split [M, q + 2kv] into q, k, v, then concatenate them back (the backward's shape). */
    @ParameterizedTest
    @MethodSource("backends")
    void fusedProjectionSplitsAndConcatenatesBack(Ops ops) {
        Rand rnd = new Rand();
        for (int[] s : new int[][] {{37, 96, 32}, {1, 3072, 3072}, {300, 256, 64}}) {
            int M = s[0], q = s[1], kv = s[2], w = q + 2 * kv;
            String tag = ops + " M=" + M + " q=" + q + " kv=" + kv + " " + rnd;
            try (Arena arena = new Arena()) {
                Tensor qkv = arena.adopt(rnd.tensor(1.0, M, w));
                Tensor tq = arena.f32(M, q), tk = arena.f32(M, kv), tv = arena.f32(M, kv);
                tq.fill(Float.NaN); tk.fill(Float.NaN); tv.fill(Float.NaN);
                ops.copyColumns(tq, 0, qkv, 0, M, q);
                ops.copyColumns(tk, 0, qkv, q, M, kv);
                ops.copyColumns(tv, 0, qkv, q + kv, M, kv);
                float[] all = qkv.toFloatArray();
                checkBlock(tag + " q", tq.toFloatArray(), q, 0, M, all, w, 0, M, q);
                checkBlock(tag + " k", tk.toFloatArray(), kv, 0, M, all, w, q, M, kv);
                checkBlock(tag + " v", tv.toFloatArray(), kv, 0, M, all, w, q + kv, M, kv);

                Tensor back = arena.f32(M, w);
                back.fill(Float.NaN);
                ops.copyColumns(back, 0, tq, 0, M, q);
                ops.copyColumns(back, q, tk, 0, M, kv);
                ops.copyColumns(back, q + kv, tv, 0, M, kv);
                float[] got = back.toFloatArray();
                for (int i = 0; i < all.length; i++) {
                    if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(all[i])) {
                        throw new AssertionError(tag + ": concatenation differs at row " + i / w + " column " + i % w);
                    }
                }
            }
        }
    }

    private static void checkBlock(String tag, float[] dst, int dstW, int dstCol, int dstRows, float[] src, int srcW,
                                   int srcCol, int rows, int cols) {
        assertEquals((long) dstW * dstRows, dst.length, tag);
        int copied = 0;
        for (int r = 0; r < dstRows; r++) {
            for (int j = 0; j < dstW; j++) {
                float got = dst[r * dstW + j];
                boolean inBlock = r < rows && j >= dstCol && j < dstCol + cols;
                if (inBlock) {
                    float want = src[r * srcW + srcCol + (j - dstCol)];
                    if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(want)) {
                        throw new AssertionError(tag + ": dst[" + r + ", " + j + "] = " + got + ", expected " + want);
                    }
                    copied++;
                } else if (!Float.isNaN(got)) {
                    throw new AssertionError(tag + ": dst[" + r + ", " + j + "] outside the block was written (" + got + ")");
                }
            }
        }
        assertTrue(copied == rows * cols, tag + ": copied " + copied + " elements, expected " + rows * cols);
    }
}
