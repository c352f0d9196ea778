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

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchLibtorch(Ops ops) {
        int[][] shapes = {{1, 64}, {7, 33}, {13, 576}, {3, 1}};
        Rand rnd = new Rand();
        for (int[] s : shapes) {
            int M = s[0], d = s[1];
            float eps = 1e-5f;
            try (Arena arena = new Arena()) {
                Tensor x = arena.adopt(rnd.tensor(1.3, M, d));
                Tensor w = arena.adopt(rnd.tensor(1.0, d));
                Tensor dy = arena.adopt(rnd.tensor(1.0, M, d));
                Tensor y = arena.f32(M, d);
                Tensor rstd = arena.f32(M);
                ops.rmsnormForward(y, rstd, x, w, M, d, eps);

                var tx = TorchRef.of(x, true);
                var tw = TorchRef.of(w, true);
                var r = torch.rsqrt(tx.mul(tx).mean(new long[] {1}, true, new org.bytedeco.pytorch.ScalarTypeOptional())
                        .add(new org.bytedeco.pytorch.Scalar(eps)));
                close("rmsnorm y " + M + "x" + d + " " + rnd, y, tx.mul(r).mul(tw));
                close("rmsnorm rstd " + M + "x" + d + " " + rnd, rstd, r.view(M));
                // backward is handed forward's fp32 rstd: the reference takes its value and keeps the exact
                // gradient through it. At d = 1, dx = r*w*dy*(1 - x^2 r^2) cancels, and rstd's rounding
                // alone would move it by more than the tolerance.
                var rUsed = r.add(TorchRef.of(rstd, false).view(M, 1).sub(r).detach());
                var ty = tx.mul(rUsed).mul(tw);

                // backward accumulates: start from a known non-zero gradient
                Tensor dx = arena.adopt(rnd.tensor(0.5, M, d));
                Tensor dw = arena.adopt(rnd.tensor(0.5, d));
                var dx0 = TorchRef.of(dx, false);
                var dw0 = TorchRef.of(dw, false);
                ops.rmsnormBackward(dx, dw, dy, x, w, rstd, M, d);
                ty.backward(TorchRef.of(dy, false), new org.bytedeco.pytorch.BoolOptional(), false,
                        new org.bytedeco.pytorch.TensorArrayRefOptional());
                closeAdded("rmsnorm dx " + M + "x" + d + " " + rnd, dx, tx.grad(), dx0);
                closeAdded("rmsnorm dw " + M + "x" + d + " " + rnd, dw, tw.grad(), dw0);
            }
        }
    }
}
