package io.tune4j.bench;

import static io.tune4j.bench.Env.*;

import io.tune4j.ops.RopeScaling;
import io.tune4j.tensor.Tensor;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Rotate-half RoPE on the queries of a [4,256] batch (1024 rows x 9 heads x 64), forward and
 * backward. Both sides get their cos/sin precomputed: tune4j a [maxPos, hd/2] table indexed by
 * position, libtorch the per-row [M,1,hd] tensors that Hugging Face builds once per forward and
 * shares across layers, so neither pays for the trigonometry here.
 */
public class RopeBench {
    static final int M = ROWS, NH = HEADS, HD = HEAD_DIM;

    @State(Scope.Thread)
    public static class Ours extends OursState {
        Tensor x, dy, pos, cos, sin;

        @Setup(Level.Trial)
        public void setup() {
            x = normal(1, 1f, M, NH, HD);
            dy = normal(2, 1f, M, NH, HD);
            pos = ints(batchPositions(), M);
            cos = zeros(MAX_POSITIONS, HD / 2);
            sin = zeros(MAX_POSITIONS, HD / 2);
            ops.ropeTable(cos, sin, MAX_POSITIONS, HD, RopeScaling.none(ROPE_THETA));
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        org.bytedeco.pytorch.Tensor x, dy, cos, sin;

        @Setup(Level.Trial)
        public void setup() {
            x = leaf(1, 1f, M, NH, HD);
            dy = normal(2, 1f, M, NH, HD);
            float[][] cs = rowTables(batchPositions(), HD, ROPE_THETA);
            cos = floats(cs[0], M, 1, HD);
            sin = floats(cs[1], M, 1, HD);
        }
    }

    /** cos and sin of each row's angles, duplicated over both halves as rotate-half expects. */
    static float[][] rowTables(int[] positions, int hd, double theta) {
        int half = hd / 2;
        float[] c = new float[positions.length * hd], s = new float[positions.length * hd];
        for (int r = 0; r < positions.length; r++) {
            for (int i = 0; i < half; i++) {
                double angle = positions[r] * Math.pow(theta, -2.0 * i / hd);
                c[r * hd + i] = c[r * hd + i + half] = (float) Math.cos(angle);
                s[r * hd + i] = s[r * hd + i + half] = (float) Math.sin(angle);
            }
        }
        return new float[][] {c, s};
    }

    /** x cos + rotate_half(x) sin with rotate_half(x) = cat(-x2, x1): the Hugging Face formulation. */
    static org.bytedeco.pytorch.Tensor rope(org.bytedeco.pytorch.Tensor x, org.bytedeco.pytorch.Tensor cos,
                                            org.bytedeco.pytorch.Tensor sin, int hd) {
        var x1 = x.narrow(-1, 0, hd / 2);
        var x2 = x.narrow(-1, hd / 2, hd / 2);
        var rotated = torch.cat(new TensorVector(x2.neg(), x1), -1);
        return x.mul(cos).add(rotated.mul(sin));
    }

    @Benchmark
    public void tune4j(Ours s) {
        s.ops.ropeForward(s.x, s.pos, s.cos, s.sin);
        s.ops.ropeBackward(s.dy, s.pos, s.cos, s.sin);
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            var y = rope(s.x, s.cos, s.sin, HD);
            Libtorch.backward(y, s.dy);
        }
    }
}
