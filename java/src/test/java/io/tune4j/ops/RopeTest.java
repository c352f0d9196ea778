package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Check;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class RopeTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    static final RopeScaling NONE = RopeScaling.none(10000f);
    static final RopeScaling LINEAR = new RopeScaling(10000f, RopeScaling.Type.LINEAR, 4f, 1f, 4f, 2048);
    // Llama 3.1/3.2 settings; with hd = 128 the frequencies fall in all three bands of the rule
    static final RopeScaling LLAMA3 = new RopeScaling(500000f, RopeScaling.Type.LLAMA3, 8f, 1f, 4f, 8192);

    /** Reference frequencies, written like Hugging Face's _compute_llama3_parameters (masks, not branches). */
    static double[] invFreq(int hd, RopeScaling s) {
        double[] inv = new double[hd / 2];
        for (int i = 0; i < inv.length; i++) {
            double f = 1.0 / Math.pow(s.theta(), 2.0 * i / hd);
            switch (s.type()) {
                case NONE -> inv[i] = f;
                case LINEAR -> inv[i] = f / s.factor();
                case LLAMA3 -> {
                    double orig = s.originalMaxPositions();
                    double lowWavelen = orig / s.lowFreqFactor(), highWavelen = orig / s.highFreqFactor();
                    double wavelen = 2 * Math.PI / f;
                    double llama = wavelen > lowWavelen ? f / s.factor() : f;
                    double smooth = (orig / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                    double smoothed = (1 - smooth) * llama / s.factor() + smooth * llama;
                    boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
                    inv[i] = medium ? smoothed : llama;
                }
            }
        }
        return inv;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void tableMatchesReference(Ops ops) {
        Object[][] cases = {{NONE, 64, 300}, {LINEAR, 16, 100}, {LLAMA3, 128, 4096}, {LLAMA3, 64, 17}};
        for (Object[] c : cases) {
            RopeScaling s = (RopeScaling) c[0];
            int hd = (int) c[1], maxPos = (int) c[2], half = hd / 2;
            try (Arena arena = new Arena()) {
                Tensor cos = arena.f32(maxPos, half), sin = arena.f32(maxPos, half);
                ops.ropeTable(cos, sin, maxPos, hd, s);
                double[] inv = invFreq(hd, s);
                double[] rc = new double[maxPos * half], rs = new double[maxPos * half];
                for (int p = 0; p < maxPos; p++) {
                    for (int i = 0; i < half; i++) {
                        rc[p * half + i] = Math.cos(p * inv[i]);
                        rs[p * half + i] = Math.sin(p * inv[i]);
                    }
                }
                close("rope cos " + s.type() + " hd=" + hd, cos.toFloatArray(), rc, Check.FP32_TOL);
                close("rope sin " + s.type() + " hd=" + hd, sin.toFloatArray(), rs, Check.FP32_TOL);
            }
        }
        // the llama3 case really exercises the three bands: kept, divided, and blended frequencies
        double[] plain = invFreq(128, RopeScaling.none(500000f)), scaled = invFreq(128, LLAMA3);
        int kept = 0, divided = 0, blended = 0;
        for (int i = 0; i < plain.length; i++) {
            double ratio = scaled[i] / plain[i];
            if (Math.abs(ratio - 1) < 1e-12) kept++;
            else if (Math.abs(ratio - 1 / 8.0) < 1e-12) divided++;
            else blended++;
        }
        assertTrue(kept > 0 && divided > 0 && blended > 0, "bands " + kept + "/" + divided + "/" + blended);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchLibtorch(Ops ops) {
        int[][] shapes = {{5, 3, 64}, {7, 2, 10}, {1, 1, 2}, {33, 4, 128}};
        RopeScaling[] scalings = {NONE, LLAMA3, LINEAR};
        Rand rnd = new Rand();
        for (int[] sh : shapes) {
            for (RopeScaling s : scalings) {
                int M = sh[0], nh = sh[1], hd = sh[2], half = hd / 2, maxPos = 2000;
                try (Arena arena = new Arena()) {
                    Tensor cos = arena.f32(maxPos, half), sin = arena.f32(maxPos, half);
                    ops.ropeTable(cos, sin, maxPos, hd, s);
                    Tensor pos = arena.adopt(rnd.ids(maxPos, M));
                    Tensor x = arena.adopt(rnd.tensor(1.0, M, nh, hd));
                    Tensor dy = arena.adopt(rnd.tensor(1.0, M, nh, hd));
                    var tx = TorchRef.of(x, true);
                    ops.ropeForward(x, pos, cos, sin);

                    // reference: y = x * [cos, cos] + rotate_half(x) * [sin, sin], angles in double
                    double[] inv = invFreq(hd, s);
                    int[] p = pos.toIntArray();
                    double[] cd = new double[M * hd], sd = new double[M * hd];
                    for (int m = 0; m < M; m++) {
                        for (int i = 0; i < hd; i++) {
                            double a = p[m] * inv[i % half];
                            cd[m * hd + i] = Math.cos(a);
                            sd[m * hd + i] = Math.sin(a);
                        }
                    }
                    var tc = doubles(cd, M, 1, hd);
                    var ts = doubles(sd, M, 1, hd);
                    var x1 = tx.narrow(2, 0, half);
                    var x2 = tx.narrow(2, half, half);
                    var rot = torch.cat(new TensorVector(x2.neg(), x1), 2);
                    var ty = tx.mul(tc).add(rot.mul(ts));
                    String what = "rope " + s.type() + " " + M + "x" + nh + "x" + hd + " " + rnd;
                    close(what + " y", x, ty);

                    // backward transforms the gradient buffer in place: dy in, dx out
                    Tensor g = arena.f32(M, nh, hd);
                    g.copyFrom(dy);
                    ops.ropeBackward(g, pos, cos, sin);
                    ty.backward(TorchRef.of(dy, false), new BoolOptional(), false, new TensorArrayRefOptional());
                    close(what + " dx", g, tx.grad());
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void badPositionsThrowAndLeaveInputUntouched(Ops ops) {
        int M = 4, nh = 2, hd = 8, maxPos = 16;
        Rand rnd = new Rand();
        try (Arena arena = new Arena()) {
            Tensor cos = arena.f32(maxPos, hd / 2), sin = arena.f32(maxPos, hd / 2);
            ops.ropeTable(cos, sin, maxPos, hd, NONE);
            Tensor x = arena.adopt(rnd.tensor(1.0, M, nh, hd));
            float[] before = x.toFloatArray();
            for (int bad : new int[] {maxPos, -1, Integer.MAX_VALUE}) {
                Tensor pos = arena.adopt(Tensor.ofInts(new int[] {0, 3, bad, 1}, M));
                assertThrows(IndexOutOfBoundsException.class, () -> ops.ropeForward(x, pos, cos, sin));
                assertThrows(IndexOutOfBoundsException.class, () -> ops.ropeBackward(x, pos, cos, sin));
                assertArrayEquals(before, x.toFloatArray(), 0f);
            }
        }
    }

    static org.bytedeco.pytorch.Tensor doubles(double[] v, long... shape) {
        org.bytedeco.javacpp.DoublePointer p = new org.bytedeco.javacpp.DoublePointer(v);
        var t = torch.from_blob(p, shape, new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Double)).clone();
        p.close();
        return t;
    }
}
