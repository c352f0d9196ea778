package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SwigluTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // the last size takes the threaded path
    private static final int[] SIZES = {1, 7, 45, 1001, 70001};

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchLibtorch(Ops ops) {
        Rand rnd = new Rand();
        for (int n : SIZES) {
            String tag = "n=" + n + " " + rnd;
            try (Arena arena = new Arena()) {
                float[] gv = rnd.normal(n, 3.0);
                if (n > 2) {  // saturated gates must give finite values, not NaN from inf/inf
                    gv[0] = -100f;
                    gv[1] = 100f;
                }
                Tensor g = arena.adopt(Tensor.of(gv, n));
                Tensor u = arena.adopt(rnd.tensor(1.0, n));
                Tensor dOut = arena.adopt(rnd.tensor(1.0, n));
                Tensor out = arena.adopt(rnd.tensor(5.0, n));
                ops.swigluForward(out, g, u);

                var tg = TorchRef.of(g, true);
                var tu = TorchRef.of(u, true);
                var tOut = torch.silu(tg).mul(tu);
                close("swiglu out " + tag, out, tOut);

                Tensor dg = arena.adopt(rnd.tensor(0.5, n));
                Tensor du = arena.adopt(rnd.tensor(0.5, n));
                var dg0 = TorchRef.of(dg, false);
                var du0 = TorchRef.of(du, false);
                ops.swigluBackward(dg, du, dOut, g, u);
                tOut.backward(TorchRef.of(dOut, false), new BoolOptional(), false, new TensorArrayRefOptional());
                closeAdded("swiglu dg " + tag, dg, tg.grad(), dg0);
                closeAdded("swiglu du " + tag, du, tu.grad(), du0);

                // each gradient alone (the other NULL) gives the same contribution
                Tensor dgOnly = arena.zeros(n), duOnly = arena.zeros(n);
                ops.swigluBackward(dgOnly, null, dOut, g, u);
                ops.swigluBackward(null, duOnly, dOut, g, u);
                close("swiglu dg alone " + tag, dgOnly, tg.grad());
                close("swiglu du alone " + tag, duOnly, tu.grad());
            }
        }
    }
}
