package io.tune4j.bench;

import static io.tune4j.bench.Env.*;

import io.tune4j.tensor.Tensor;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** gate/up projection of SmolLM2: y = x W^T, 576 -> 1536 over 1024 rows; backward gives dx and dW. */
public class LinearBench {
    static final int M = ROWS, K = HIDDEN, N = INTERMEDIATE;

    @State(Scope.Thread)
    public static class Ours extends OursState {
        Tensor x, w, y, dy, dx, dw;

        @Setup(Level.Trial)
        public void setup() {
            x = normal(1, 1f, M, K);
            w = normal(2, 0.02f, N, K);
            dy = normal(3, 1f, M, N);
            y = zeros(M, N);
            dx = zeros(M, K);
            dw = zeros(N, K);
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        org.bytedeco.pytorch.Tensor x, w, dy;

        @Setup(Level.Trial)
        public void setup() {
            x = leaf(1, 1f, M, K);
            w = leaf(2, 0.02f, N, K);
            dy = normal(3, 1f, M, N);
        }
    }

    @Benchmark
    public void tune4j(Ours s) {
        s.ops.linearForward(s.y, s.x, s.w, null);
        s.ops.linearBackward(s.dx, s.dw, null, s.dy, s.x, s.w);
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            var y = Libtorch.linear(s.x, s.w);
            Libtorch.backward(y, s.dy);
        }
    }
}
