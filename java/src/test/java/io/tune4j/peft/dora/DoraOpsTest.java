package io.tune4j.peft.dora;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * DoRA's ops (the row norm of W + s·B·A and the per-row scale), composed with the fused LoRA op as
 * DoraProjection composes them, against libtorch in float64: y = m/||V|| o (x W^T + s (x A^T) B^T) + bias
 * with the norm detached, forward and every gradient (dm, dbias, dx, dA, dB) through autograd.
 */
class DoraOpsTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // {M, K, N, r}: one row, odd sizes, and shapes large enough for the threaded paths and several row blocks
    private static final int[][] SHAPES = {{1, 33, 1, 1}, {7, 64, 45, 4}, {13, 33, 45, 16}, {203, 70, 90, 16},
            {301, 130, 700, 7}};
    private static final int GUARD = 16;
    private static final float GUARD_VALUE = 12345.0f;

    @ParameterizedTest
    @MethodSource("backends")
    void matchesLibtorch(Ops ops) {
        Rand rnd = new Rand();
        int i = 0;
        for (int[] s : SHAPES) {
            check(ops, rnd, s[0], s[1], s[2], s[3], 2.0f / s[3], i % 2 == 0);
            i++;
        }
    }

    private static void check(Ops ops, Rand rnd, int M, int K, int N, int r, float scale, boolean withBias) {
        String tag = "M=" + M + " K=" + K + " N=" + N + " r=" + r + (withBias ? " bias " : " ") + rnd;
        try (Arena arena = new Arena()) {
            Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
            Tensor w = arena.adopt(rnd.tensor(0.2, N, K));
            Tensor bias = withBias ? arena.adopt(rnd.tensor(1.0, N)) : null;
            Tensor a = arena.adopt(rnd.tensor(0.3, r, K));
            Tensor b = arena.adopt(rnd.tensor(0.3, N, r));
            Tensor m = arena.adopt(rnd.tensor(1.0, N));
            Tensor dy = arena.adopt(rnd.tensor(1.0, M, N));

            Tensor norm = arena.f32(N), g = arena.f32(N);
            norm.fill(Float.NaN);
            g.fill(Float.NaN);
            long nws = ops.doraNormWorkspaceFloats(K, N, r);
            Tensor normWs = arena.f32(nws + GUARD);
            normWs.fill(GUARD_VALUE);
            ops.doraNorm(norm, g, w, a, b, m, scale, normWs);
            checkGuard(normWs, "dora norm " + tag);

            Tensor u = arena.f32(M, N), t = arena.f32(M, r), y = arena.f32(M, N);
            y.fill(Float.NaN);
            Tensor ws = arena.f32(Math.max(1, ops.loraWorkspaceFloats(M, K, N, r, 0f)));
            ops.loraForward(u, t, x, w, null, a, b, scale, 0f, 0L, ws);
            ops.doraScaleForward(y, u, g, bias);

            var tx = TorchRef.of(x, true);
            var tw = TorchRef.of(w, false);
            var ta = TorchRef.of(a, true);
            var tb = TorchRef.of(b, true);
            var tm = TorchRef.of(m, true);
            var tbias = withBias ? TorchRef.of(bias, true) : null;
            var v = tw.add(tb.matmul(ta).mul(new Scalar(scale)));
            var tn = v.mul(v).sum(new long[] {1}, false, new ScalarTypeOptional()).sqrt().detach();
            close("dora norm " + tag, norm, tn);
            var tg = tm.div(tn);
            close("dora g " + tag, g, tg.detach());
            var tu = tx.matmul(tw.t()).add(tx.matmul(ta.t()).matmul(tb.t()).mul(new Scalar(scale)));
            var ty = tu.mul(tg.view(1, N));
            if (withBias) ty = ty.add(tbias);
            close("dora y " + tag, y, ty);

            Tensor du = arena.f32(M, N);
            du.fill(Float.NaN); // overwritten, never accumulated
            Tensor dm = arena.adopt(rnd.tensor(0.5, N));
            Tensor dbias = withBias ? arena.adopt(rnd.tensor(0.5, N)) : null;
            Tensor dx = arena.adopt(rnd.tensor(0.5, M, K));
            Tensor da = arena.adopt(rnd.tensor(0.5, r, K));
            Tensor db = arena.adopt(rnd.tensor(0.5, N, r));
            var dm0 = TorchRef.of(dm, false);
            var dbias0 = withBias ? TorchRef.of(dbias, false) : null;
            var dx0 = TorchRef.of(dx, false);
            var da0 = TorchRef.of(da, false);
            var db0 = TorchRef.of(db, false);
            ops.doraScaleBackward(du, dm, dbias, dy, u, g, norm);
            ops.loraBackward(dx, null, null, da, db, du, x, t, w, a, b, scale, 0f, 0L, ws);
            ty.backward(TorchRef.of(dy, false), new BoolOptional(), false, new TensorArrayRefOptional());
            closeAdded("dora dm " + tag, dm, tm.grad(), dm0);
            if (withBias) closeAdded("dora dbias " + tag, dbias, tbias.grad(), dbias0);
            closeAdded("dora dx " + tag, dx, tx.grad(), dx0);
            closeAdded("dora dA " + tag, da, ta.grad(), da0);
            closeAdded("dora dB " + tag, db, tb.grad(), db0);
        }
    }

    private static void checkGuard(Tensor ws, String what) {
        float[] v = ws.toFloatArray();
        for (int i = v.length - GUARD; i < v.length; i++) {
            assertEquals(GUARD_VALUE, v[i], what + ": op wrote past its advertised workspace");
        }
    }
}
