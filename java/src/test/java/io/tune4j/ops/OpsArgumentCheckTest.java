package io.tune4j.ops;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Tensors whose shapes disagree, or of the wrong type, are refused before native code runs. */
class OpsArgumentCheckTest {
    final Ops ops = CpuOps.INSTANCE;

    @Test
    void misshapenOrWrongTypedTensorsAreRefused() {
        try (Arena a = new Arena()) {
            Tensor x = a.f32(4, 8), w = a.f32(6, 8), small = a.f32(3), ids = a.i32(4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ops.linearForward(small, x, w, null));
            assertTrue(e.getMessage().contains("linear y"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ops.embeddingForward(x, x, w));
            assertThrows(IllegalArgumentException.class, () -> ops.rmsnormForward(x, small, x, a.f32(8), 1e-5f));
            assertThrows(IllegalArgumentException.class, () -> ops.swigluForward(small, x, x));
            AttentionShape s = new AttentionShape(1, 4, 4, 2, 2, 1, 4);
            assertThrows(IllegalArgumentException.class,
                    () -> ops.attentionForward(x, a.f32(8), x, a.f32(16), a.f32(16), null, null, null, null, s,
                            a.f32(ops.attentionWorkspaceFloats(s))));
            assertThrows(IllegalArgumentException.class, () -> ops.crossEntropy(a.f32(4), a.f32(4, 9), a.f32(4), 1f));
            // the Gemma ops: sizes, caps and offsets
            assertThrows(IllegalArgumentException.class, () -> ops.rmsnormForward(x, a.f32(4), x, small, 1e-5f, 1f));
            assertThrows(IllegalArgumentException.class, () -> ops.rmsnormForward(x, a.f32(4), x, a.f32(8), 1e-5f,
                    Float.NaN));
            assertThrows(IllegalArgumentException.class, () -> ops.rmsnormBackward(x, a.f32(8), x, x, small, a.f32(4),
                    1f));
            assertThrows(IllegalArgumentException.class, () -> ops.gegluForward(small, x, x));
            assertThrows(IllegalArgumentException.class, () -> ops.gegluForward(x, x, ids));
            assertThrows(IllegalArgumentException.class, () -> ops.gegluBackward(small, null, x, x, x));
            assertThrows(IllegalArgumentException.class, () -> ops.softcapForward(small, x, 30f));
            assertThrows(IllegalArgumentException.class, () -> ops.softcapForward(x, x, 0f));
            assertThrows(IllegalArgumentException.class, () -> ops.softcapBackward(x, small, x, 30f));
            Tensor h = a.f32(4, 8), lw = a.f32(6, 8), ws = a.f32(12);
            assertThrows(IllegalArgumentException.class,
                    () -> ops.lmHeadCrossEntropy(null, null, h, lw, ids, -2f, 1f, ws, 2));
            assertThrows(IllegalArgumentException.class,
                    () -> ops.lmHeadCrossEntropy(null, null, h, small, ids, 30f, 1f, ws, 2));
            assertThrows(IllegalArgumentException.class, () -> ops.lmHeadSequenceLogProbs(new double[2], new int[2],
                    null, null, h, lw, ids, null, 2, Float.POSITIVE_INFINITY, ws, 2));
            assertThrows(IllegalArgumentException.class, () -> new AttentionShape(1, 4, 4, 0, 2, 1, 4, 0, 0f, 0f));
        }
    }

    /** The dimensions come from the shapes, so operands that disagree are refused, naming the op and argument. */
    @Test
    void shapesThatDisagreeAreRefused() {
        try (Arena a = new Arena()) {
            Tensor w = a.f32(6, 8);
            // x's rows 7 wide against w's 8
            refused("linear x", () -> ops.linearForward(a.f32(4, 6), a.f32(4, 7), w, null));
            // a y sized for more rows than x holds (a decoding buffer passed whole): pass y.slice(0, M)
            Tensor y = a.f32(16, 6), x = a.f32(4, 8);
            refused("linear y", () -> ops.linearForward(y, x, w, null));
            ops.linearForward(y.slice(0, 4), x, w, null);
            refused("linear b", () -> ops.linearForward(a.f32(4, 6), x, w, a.f32(5)));
            refused("linear dy", () -> ops.linearBackward(null, a.f32(6, 8), null, a.f32(4, 5), x, w));
            refused("rmsnorm rstd", () -> ops.rmsnormForward(x, a.f32(5), x, a.f32(8), 1e-5f));
            refused("add b", () -> ops.add(a.f32(8), a.f32(8), a.f32(9)));
            refused("embedding out", () -> ops.embeddingForward(a.f32(4, 7), a.i32(4), a.f32(10, 8)));
            refused("lm head h", () -> ops.lmHeadCrossEntropy(null, null, a.f32(4, 7), w, a.i32(4), 1f, a.f32(12), 2));
            refused("sequence log-probs targets", () -> ops.lmHeadSequenceLogProbs(new double[3], new int[3], null, null,
                    a.f32(4, 8), w, a.i32(4), null, 3, a.f32(12), 2));
        }
    }

    private void refused(String named, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(named), "expected a message naming " + named + ", got: " + e.getMessage());
    }

    @Test
    void badColumnCopiesAreRefused() {
        try (Arena a = new Arena()) {
            Tensor dst = a.f32(4, 10), src = a.f32(6, 12), flat = a.f32(40), ids = a.i32(4, 10), cube = a.f32(2, 4, 10);
            ops.copyColumns(dst, 2, src, 4, 4, 8);  // in bounds: accepted
            refused("cols", () -> ops.copyColumns(dst, 0, src, 0, 4, -1));
            refused("rows", () -> ops.copyColumns(dst, 0, src, 0, -1, 2));
            refused("dstCol", () -> ops.copyColumns(dst, -1, src, 0, 4, 2));
            refused("srcCol", () -> ops.copyColumns(dst, 0, src, -3, 4, 2));
            refused("dstCol + cols", () -> ops.copyColumns(dst, 3, src, 0, 4, 8));
            refused("dstCol + cols", () -> ops.copyColumns(dst, 10, src, 0, 4, 1));
            refused("srcCol + cols", () -> ops.copyColumns(dst, 0, src, 5, 4, 8));
            refused("rows", () -> ops.copyColumns(dst, 0, src, 0, 5, 2));   // beyond dst's 4 rows
            refused("rows", () -> ops.copyColumns(src, 0, dst, 0, 5, 2));   // beyond src's 4 rows
            refused("dst", () -> ops.copyColumns(flat, 0, src, 0, 1, 2));   // 1-D
            refused("src", () -> ops.copyColumns(dst, 0, flat, 0, 1, 2));
            refused("dst", () -> ops.copyColumns(cube, 0, src, 0, 1, 2));   // 3-D
            refused("dst", () -> ops.copyColumns(null, 0, src, 0, 1, 2));
            refused("src", () -> ops.copyColumns(dst, 0, null, 0, 1, 2));
            refused("F32", () -> ops.copyColumns(ids, 0, src, 0, 1, 2));
            refused("F32", () -> ops.copyColumns(dst, 0, ids, 0, 1, 2));
            refused("overlap", () -> ops.copyColumns(dst, 0, dst, 5, 4, 5));
            refused("overlap", () -> ops.copyColumns(dst.view(8, 5), 0, dst, 5, 4, 5));
        }
    }
}
