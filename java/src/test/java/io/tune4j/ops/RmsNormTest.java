package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class RmsNormTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // 0: the Llama norm through the older signatures; 1: Gemma's (1 + w); -0.5: any other offset
    private static final float[] OFFSETS = {0f, 1f, -0.5f};

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchLibtorch(Ops ops) {
        int[][] shapes = {{1, 64}, {7, 33}, {13, 576}, {3, 1}};
        Rand rnd = new Rand();
        for (float off : OFFSETS) {
            for (int[] s : shapes) check(ops, rnd, s[0], s[1], off);
        }
    }

    private static void check(Ops ops, Rand rnd, int M, int d, float off) {
        float eps = 1e-5f;
        String tag = M + "x" + d + " offset " + off + " " + rnd;
        try (Arena arena = new Arena()) {
            Tensor x = arena.adopt(rnd.tensor(1.3, M, d));
            // Gemma's weights sit around 0 (the norm scales by 1 + w): the offset must carry the scale
            Tensor w = arena.adopt(rnd.tensor(off == 0f ? 1.0 : 0.3, d));
            Tensor dy = arena.adopt(rnd.tensor(1.0, M, d));
            Tensor y = arena.f32(M, d);
            Tensor rstd = arena.f32(M);
            y.fill(Float.NaN);  // forward must overwrite y and rstd, never read them
            rstd.fill(Float.NaN);
            if (off == 0f) ops.rmsnormForward(y, rstd, x, w, eps);
            else ops.rmsnormForward(y, rstd, x, w, eps, off);

            var tx = TorchRef.of(x, true);
            var tw = TorchRef.of(w, true);
            var tws = tw.add(new org.bytedeco.pytorch.Scalar((double) off));
            var r = torch.rsqrt(tx.mul(tx).mean(new long[] {1}, true, new org.bytedeco.pytorch.ScalarTypeOptional())
                    .add(new org.bytedeco.pytorch.Scalar(eps)));
            close("rmsnorm y " + tag, y, tx.mul(r).mul(tws));
            close("rmsnorm rstd " + tag, rstd, r.view(M));

            // in place (y = x), as the Qwen3 / Gemma 3 head norms run while decoding: the same values
            Tensor inPlace = arena.adopt(Tensor.of(x.toFloatArray(), M, d));
            Tensor rstd2 = arena.f32(M);
            ops.rmsnormForward(inPlace, rstd2, inPlace, w, eps, off);
            org.junit.jupiter.api.Assertions.assertArrayEquals(y.toFloatArray(), inPlace.toFloatArray(), 0f,
                    "rmsnorm in place " + tag);

            // backward is handed forward's fp32 rstd: the reference takes its value and keeps the exact
            // gradient through it. At d = 1, dx = r*w*dy*(1 - x^2 r^2) cancels, and rstd's rounding
            // alone would move it by more than the tolerance.
            var rUsed = r.add(TorchRef.of(rstd, false).view(M, 1).sub(r).detach());
            var ty = tx.mul(rUsed).mul(tws);

            // backward accumulates: start from a known non-zero gradient
            Tensor dx = arena.adopt(rnd.tensor(0.5, M, d));
            Tensor dw = arena.adopt(rnd.tensor(0.5, d));
            var dx0 = TorchRef.of(dx, false);
            var dw0 = TorchRef.of(dw, false);
            if (off == 0f) ops.rmsnormBackward(dx, dw, dy, x, w, rstd);
            else ops.rmsnormBackward(dx, dw, dy, x, w, rstd, off);
            ty.backward(TorchRef.of(dy, false), new org.bytedeco.pytorch.BoolOptional(), false,
                    new org.bytedeco.pytorch.TensorArrayRefOptional());
            closeAdded("rmsnorm dx " + tag, dx, tx.grad(), dx0);
            closeAdded("rmsnorm dw " + tag, dw, tw.grad(), dw0);
        }
    }
}
