package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Check;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SoftcapTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // the last size takes the threaded path
    private static final int[] SIZES = {1, 7, 45, 1001, 70001};

    // Gemma 2's caps (50 for attention logits, 30 for final logits) and small ones where tanh bends everything
    private static final float[] CAPS = {50f, 30f, 2.5f, 0.75f};

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchLibtorch(Ops ops) {
        Rand rnd = new Rand();
        for (float cap : CAPS) {
            for (int n : SIZES) {
                String tag = "cap=" + cap + " n=" + n + " " + rnd;
                try (Arena arena = new Arena()) {
                    float[] xv = rnd.normal(n, 2.0 * cap);
                    if (n > 3) { // saturation and the tiny-argument regime where exp-based forms cancel
                        xv[0] = -60f * cap;
                        xv[1] = 1e4f * cap;
                        xv[2] = 1e-6f;
                    }
                    Tensor x = arena.adopt(Tensor.of(xv, n));
                    Tensor y = arena.f32(n);
                    y.fill(Float.NaN);  // forward must overwrite y, never read it
                    ops.softcapForward(y, x, cap);
                    var c = new Scalar((double) cap);
                    var ty = torch.tanh(TorchRef.of(x, false).div(c)).mul(c);
                    close("softcap y " + tag, y, ty);

                    // y may alias x
                    Tensor inPlace = arena.adopt(Tensor.of(xv.clone(), n));
                    ops.softcapForward(inPlace, inPlace, cap);
                    close("softcap in place " + tag, inPlace, ty);

                    Tensor dy = arena.adopt(rnd.tensor(1.0, n));
                    Tensor dx = arena.adopt(rnd.tensor(0.5, n));
                    var dx0 = TorchRef.of(dx, false);
                    ops.softcapBackward(dx, dy, y, cap);
                    // the derivative 1 - tanh^2 from the same saved fp32 output (as TanhTest does: near
                    // saturation it is tiny, and against the exact tanh the output's rounding would dominate)
                    var t = TorchRef.of(y, false).div(c);
                    var ref = TorchRef.of(dy, false).mul(t.mul(t).neg().add(new Scalar(1.0)));
                    Check.closeAdded("softcap dx " + tag, dx, ref, dx0);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aCapMustBePositiveAndFinite(Ops ops) {
        try (Arena arena = new Arena()) {
            Tensor x = arena.zeros(4), y = arena.zeros(4);
            for (float bad : new float[] {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY}) {
                assertThrows(IllegalArgumentException.class, () -> ops.softcapForward(y, x, bad));
                assertThrows(IllegalArgumentException.class, () -> ops.softcapBackward(y, x, x, bad));
            }
        }
    }
}
