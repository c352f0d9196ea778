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

/** silu(g) * u over the MLP activations (1024 x 1536), forward and backward to dg and du. */
public class SwiGluBench {
    static final int M = ROWS, I = INTERMEDIATE;
    static final long N = (long) M * I;

    @State(Scope.Thread)
    public static class Ours extends OursState {
        Tensor g, u, out, dout, dg, du;

        @Setup(Level.Trial)
        public void setup() {
            g = normal(1, 1f, M, I);
            u = normal(2, 1f, M, I);
            dout = normal(3, 1f, M, I);
            out = zeros(M, I);
            dg = zeros(M, I);
            du = zeros(M, I);
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        org.bytedeco.pytorch.Tensor g, u, dout;

        @Setup(Level.Trial)
        public void setup() {
            g = leaf(1, 1f, M, I);
            u = leaf(2, 1f, M, I);
            dout = normal(3, 1f, M, I);
        }
    }

    @Benchmark
    public void tune4j(Ours s) {
        s.ops.swigluForward(s.out, s.g, s.u);
        s.ops.swigluBackward(s.dg, s.du, s.dout, s.g, s.u);
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            var out = torch.silu(s.g).mul(s.u);
            Libtorch.backward(out, s.dout);
        }
    }
}
