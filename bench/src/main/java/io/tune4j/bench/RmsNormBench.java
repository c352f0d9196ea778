package io.tune4j.bench;

import static io.tune4j.bench.Env.*;

import io.tune4j.tensor.Tensor;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** RMSNorm over 1024 rows of 576; backward gives dx and dw. libtorch uses its own rms_norm op. */
public class RmsNormBench {
    static final int M = ROWS, D = HIDDEN;

    @State(Scope.Thread)
    public static class Ours extends OursState {
        Tensor x, w, y, rstd, dy, dx, dw;

        @Setup(Level.Trial)
        public void setup() {
            x = normal(1, 1f, M, D);
            w = normal(2, 1f, D);
            dy = normal(3, 1f, M, D);
            y = zeros(M, D);
            rstd = zeros(M);
            dx = zeros(M, D);
            dw = zeros(D);
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        org.bytedeco.pytorch.Tensor x, w, dy;
        TensorOptional weight;
        DoubleOptional eps;

        @Setup(Level.Trial)
        public void setup() {
            x = leaf(1, 1f, M, D);
            w = leaf(2, 1f, D);
            dy = normal(3, 1f, M, D);
            weight = keep(new TensorOptional(w));
            eps = keep(new DoubleOptional(EPS));
        }
    }

    @Benchmark
    public void tune4j(Ours s) {
        s.ops.rmsnormForward(s.y, s.rstd, s.x, s.w, EPS);
        s.ops.rmsnormBackward(s.dx, s.dw, s.dy, s.x, s.w, s.rstd);
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            var y = torch.rms_norm(s.x, new long[] {D}, s.weight, s.eps);
            Libtorch.backward(y, s.dy);
        }
    }
}
