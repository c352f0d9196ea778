package io.tune4j.ops;

import static io.tune4j.testing.Check.close;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Check;
import io.tune4j.testing.Rand;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class OptimTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    /**
     * torch.optim.AdamW's single-tensor update written out in float64:
     * p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     * p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void adamwFollowsTorchSemanticsOverSeveralSteps(Ops ops) {
        Rand rnd = new Rand();
        AdamWParams[] configs = {
            new AdamWParams(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f),
            new AdamWParams(3e-2f, 0.8f, 0.95f, 1e-6f, 0.1f),
            new AdamWParams(1e-2f, 0.9f, 0.999f, 1e-8f, 0f),
        };
        for (AdamWParams h : configs) {
            for (int n : new int[] {1, 37, 100_003}) {
                try (Arena arena = new Arena()) {
                    Tensor p = arena.adopt(rnd.tensor(1.0, n));
                    Tensor m = arena.zeros(n), v = arena.zeros(n);
                    double[] rp = toDouble(p.toFloatArray()), rm = new double[n], rv = new double[n];
                    for (int step = 1; step <= 6; step++) {
                        // later steps use smaller gradients so m, v and the update all move
                        Tensor g = arena.adopt(rnd.tensor(step < 4 ? 1.0 : 0.01, n));
                        float[] gf = g.toFloatArray();
                        float[] before = p.toFloatArray();
                        ops.adamw(p, g, m, v, h, step);
                        double b1 = h.beta1(), b2 = h.beta2();
                        double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
                        double[] fromActual = new double[n];
                        for (int i = 0; i < n; i++) {
                            double decay = 1 - (double) h.lr() * h.weightDecay();
                            rm[i] = b1 * rm[i] + (1 - b1) * gf[i];
                            rv[i] = b2 * rv[i] + (1 - b2) * (double) gf[i] * gf[i];
                            double update = h.lr() / bc1 * rm[i] / (Math.sqrt(rv[i]) / Math.sqrt(bc2) + h.eps());
                            rp[i] = rp[i] * decay - update;
                            fromActual[i] = before[i] * decay - update;
                        }
                        String what = "adamw " + h + " n=" + n + " step " + step + " " + rnd;
                        close(what + " p", p.toFloatArray(), rp, Check.FP32_TOL);
                        close(what + " m", m.toFloatArray(), rm, Check.FP32_TOL);
                        close(what + " v", v.toFloatArray(), rv, Check.FP32_TOL);
                        // the update itself, not just p (which barely moves relative to its size)
                        closeDeltas(what, p.toFloatArray(), fromActual, h.lr());
                    }
                }
            }
        }
    }

    /** This step's result from the kernel's own previous p, error measured in units of lr rather than |p|. */
    private static void closeDeltas(String what, float[] got, double[] ref, double lr) {
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            if (Float.isNaN(got[i])) worst = Double.NaN;
            worst = Math.max(worst, Math.abs(got[i] - ref[i]) / lr);
        }
        // storing p in fp32 costs ~6e-8 |p| (a few 1e-4 lr here); 1e-3 lr is beyond rounding
        if (!(worst <= 1e-3)) org.junit.jupiter.api.Assertions.fail(what + ": update error " + worst + " lr");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void sumOfSquaresAndScale(Ops ops) {
        Rand rnd = new Rand();
        for (int n : new int[] {1, 15, 1000, 1 << 20}) {
            try (Arena arena = new Arena()) {
                Tensor x = arena.adopt(rnd.tensor(2.0, n));
                float[] xf = x.toFloatArray();
                double ref = 0;
                for (float f : xf) ref += (double) f * f;
                double got = ops.sumOfSquares(x);
                close("sumsq n=" + n + " " + rnd, new float[] {(float) got}, new double[] {ref}, 1e-6);
                if (!(Math.abs(got - ref) <= 1e-12 * ref)) {
                    org.junit.jupiter.api.Assertions.fail("sumsq must accumulate in double: " + got + " vs " + ref);
                }
                float s = (float) (rnd.gaussian() + 0.1);
                ops.scale(x, s);
                double[] rs = new double[n];
                for (int i = 0; i < n; i++) rs[i] = (double) xf[i] * s;
                close("scale n=" + n + " " + rnd, x.toFloatArray(), rs, Check.FP32_TOL);
            }
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
