package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Check;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AdapterTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // {M, d, m}: d is the model width, m the bottleneck
    private static final int[][] SHAPES = {{1, 33, 1}, {7, 64, 4}, {13, 33, 16}, {13, 45, 7}, {300, 257, 16}};

    static org.bytedeco.pytorch.Tensor act(org.bytedeco.pytorch.Tensor h, Activation act) {
        switch (act) {
            case RELU: return torch.relu(h);
            case GELU: return torch.gelu(h, "tanh");
            case SILU: return torch.silu(h);
            default: throw new AssertionError(act);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchLibtorch(Ops ops) {
        Rand rnd = new Rand();
        int i = 0;
        for (Activation fn : Activation.values()) {
            for (int[] s : SHAPES) {
                int M = s[0], d = s[1], m = s[2];
                boolean withBias = i++ % 2 == 0;
                String tag = fn + " M=" + M + " d=" + d + " m=" + m + (withBias ? " bias " : " ") + rnd;
                try (Arena arena = new Arena()) {
                    Tensor x = arena.adopt(rnd.tensor(1.0, M, d));
                    Tensor down = arena.adopt(rnd.tensor(0.4, m, d));
                    Tensor downBias = withBias ? arena.adopt(rnd.tensor(0.5, m)) : null;
                    Tensor up = arena.adopt(rnd.tensor(0.4, d, m));
                    Tensor upBias = withBias ? arena.adopt(rnd.tensor(0.5, d)) : null;
                    Tensor dy = arena.adopt(rnd.tensor(1.0, M, d));
                    Tensor y = arena.adopt(rnd.tensor(5.0, M, d));
                    Tensor h = arena.adopt(rnd.tensor(5.0, M, m));
                    Tensor a = arena.adopt(rnd.tensor(5.0, M, m));
                    ops.adapterForward(y, h, a, x, down, downBias, up, upBias, fn);

                    var tx = TorchRef.of(x, true);
                    var tD = TorchRef.of(down, true);
                    var tbd = withBias ? TorchRef.of(downBias, true) : null;
                    var tU = TorchRef.of(up, true);
                    var tbu = withBias ? TorchRef.of(upBias, true) : null;
                    var th = tx.matmul(tD.t());
                    if (withBias) th = th.add(tbd);
                    var ta = act(th, fn);
                    var ty = tx.add(ta.matmul(tU.t()));
                    if (withBias) ty = ty.add(tbu);
                    // With one row and a narrow bottleneck h can be a single dot product that cancels to near zero,
                    // where fp32 rounding is large against h itself though tiny against its terms: each output is
                    // checked against the size of the sum it comes from (|x| |D|^T + |b|, carried through a and y).
                    var hScale = tx.abs().matmul(tD.abs().t());
                    if (withBias) hScale = hScale.add(tbd.abs());
                    var yScale = tx.abs().add(ta.abs().add(hScale).matmul(tU.abs().t()));
                    if (withBias) yScale = yScale.add(tbu.abs());
                    Check.closeScaled("adapter h " + tag, h, th, hScale);
                    Check.closeScaled("adapter a " + tag, a, ta, hScale);
                    Check.closeScaled("adapter y " + tag, y, ty, yScale);

                    Tensor dx = arena.adopt(rnd.tensor(0.5, M, d));
                    Tensor dD = arena.adopt(rnd.tensor(0.5, m, d));
                    Tensor dbd = withBias ? arena.adopt(rnd.tensor(0.5, m)) : null;
                    Tensor dU = arena.adopt(rnd.tensor(0.5, d, m));
                    Tensor dbu = withBias ? arena.adopt(rnd.tensor(0.5, d)) : null;
                    var dx0 = TorchRef.of(dx, false);
                    var dD0 = TorchRef.of(dD, false);
                    var dbd0 = withBias ? TorchRef.of(dbd, false) : null;
                    var dU0 = TorchRef.of(dU, false);
                    var dbu0 = withBias ? TorchRef.of(dbu, false) : null;
                    long wsFloats = (long) M * m;
                    Tensor ws = arena.f32(wsFloats + 16);
                    ws.fill(777f);
                    ops.adapterBackward(dx, dD, dbd, dU, dbu, dy, x, h, a, down, up, fn, ws);
                    float[] wv = ws.toFloatArray();
                    for (long e = wsFloats; e < wv.length; e++) assertEquals(777f, wv[(int) e], "adapter wrote past ws " + tag);
                    ty.backward(TorchRef.of(dy, false), new BoolOptional(), false, new TensorArrayRefOptional());
                    closeAdded("adapter dx " + tag, dx, tx.grad(), dx0);
                    closeAdded("adapter dDown " + tag, dD, tD.grad(), dD0);
                    closeAdded("adapter dUp " + tag, dU, tU.grad(), dU0);
                    if (withBias) {
                        closeAdded("adapter dDownBias " + tag, dbd, tbd.grad(), dbd0);
                        closeAdded("adapter dUpBias " + tag, dbu, tbu.grad(), dbu0);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void onlyTheRequestedGradientsAreWritten(Ops ops) {
        // adapter training with a frozen input path: only dDown/dUp requested, then only dx
        Rand rnd = new Rand();
        int M = 7, d = 33, m = 4;
        Activation fn = Activation.GELU;
        try (Arena arena = new Arena()) {
            Tensor x = arena.adopt(rnd.tensor(1.0, M, d));
            Tensor down = arena.adopt(rnd.tensor(0.4, m, d));
            Tensor up = arena.adopt(rnd.tensor(0.4, d, m));
            Tensor dy = arena.adopt(rnd.tensor(1.0, M, d));
            Tensor y = arena.f32(M, d), h = arena.f32(M, m), a = arena.f32(M, m), ws = arena.f32(M, m);
            ops.adapterForward(y, h, a, x, down, null, up, null, fn);
            var tx = TorchRef.of(x, true);
            var tD = TorchRef.of(down, true);
            var tU = TorchRef.of(up, true);
            var ty = tx.add(act(tx.matmul(tD.t()), fn).matmul(tU.t()));
            ty.backward(TorchRef.of(dy, false), new BoolOptional(), false, new TensorArrayRefOptional());

            Tensor dD = arena.zeros(m, d), dU = arena.zeros(d, m);
            ops.adapterBackward(null, dD, null, dU, null, dy, x, h, a, down, up, fn, ws);
            close("adapter dDown only " + rnd, dD, tD.grad());
            close("adapter dUp only " + rnd, dU, tU.grad());
            Tensor dx = arena.zeros(M, d);
            ops.adapterBackward(dx, null, null, null, null, dy, x, h, a, down, up, fn, ws);
            close("adapter dx only " + rnd, dx, tx.grad());
        }
    }
}
