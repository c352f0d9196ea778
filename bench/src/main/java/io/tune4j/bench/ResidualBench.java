package io.tune4j.bench;

import static io.tune4j.bench.Env.*;

import io.tune4j.tensor.Tensor;
import org.bytedeco.javacpp.PointerScope;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** Residual add y = a + b over 1024 x 576; backward passes dy on to both branches (accumulated). */
public class ResidualBench {
    static final int M = ROWS, D = HIDDEN;
    static final long N = (long) M * D;

    @State(Scope.Thread)
    public static class Ours extends OursState {
        Tensor a, b, y, dy, da, db;

        @Setup(Level.Trial)
        public void setup() {
            a = normal(1, 1f, M, D);
            b = normal(2, 1f, M, D);
            dy = normal(3, 1f, M, D);
            y = zeros(M, D);
            da = zeros(M, D);
            db = zeros(M, D);
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        org.bytedeco.pytorch.Tensor a, b, dy;

        @Setup(Level.Trial)
        public void setup() {
            a = leaf(1, 1f, M, D);
            b = leaf(2, 1f, M, D);
            dy = normal(3, 1f, M, D);
        }
    }

    @Benchmark
    public void tune4j(Ours s) {
        s.ops.add(s.y, s.a, s.b);
        s.ops.axpy(s.da, 1f, s.dy);
        s.ops.axpy(s.db, 1f, s.dy);
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            var y = s.a.add(s.b);
            Libtorch.backward(y, s.dy);
        }
    }
}
