package io.tune4j.bench;

import static io.tune4j.bench.Env.*;

import io.tune4j.tensor.Tensor;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * LoRA on q_proj (576 -> 576, r = 16, alpha 32, no dropout) with the base weight frozen:
 * forward and backward to dx, dA, dB. libtorch runs it the way PEFT composes it, unfused:
 * x W^T + scale (x A^T) B^T under autograd.
 */
public class LoraBench {
    static final int M = ROWS, K = HIDDEN, N = HIDDEN, R = LORA_RANK;

    @State(Scope.Thread)
    public static class Ours extends OursState {
        Tensor x, w, a, b, y, t, dy, dx, da, db, ws;

        @Setup(Level.Trial)
        public void setup() {
            x = normal(1, 1f, M, K);
            w = normal(2, 0.02f, N, K);
            a = normal(3, 0.02f, R, K);
            b = normal(4, 0.02f, N, R);
            dy = normal(5, 1f, M, N);
            y = zeros(M, N);
            t = zeros(M, R);
            dx = zeros(M, K);
            da = zeros(R, K);
            db = zeros(N, R);
            ws = zeros(Math.max(1, ops.loraWorkspaceFloats(M, K, N, R, 0f)));
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        org.bytedeco.pytorch.Tensor x, w, a, b, dy;
        Scalar scale;

        @Setup(Level.Trial)
        public void setup() {
            x = leaf(1, 1f, M, K);
            w = normal(2, 0.02f, N, K); // frozen: no gradient
            if (Env.bf16()) w = keep(Libtorch.frozen(w));
            a = leaf(3, 0.02f, R, K);
            b = leaf(4, 0.02f, N, R);
            dy = normal(5, 1f, M, N);
            scale = keep(new Scalar((double) LORA_SCALE));
        }
    }

    @Benchmark
    public void tune4j(Ours s) {
        s.ops.loraForward(s.y, s.t, s.x, s.w, null, s.a, s.b, LORA_SCALE, 0f, 0L, s.ws);
        s.ops.loraBackward(s.dx, null, null, s.da, s.db, s.dy, s.x, s.t, s.w, s.a, s.b, LORA_SCALE, 0f,
                0L, s.ws);
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            var base = Libtorch.linear(s.x, s.w);
            var lora = Libtorch.linear(Libtorch.linear(s.x, s.a), s.b);
            var y = base.add(lora, s.scale);
            Libtorch.backward(y, s.dy);
        }
    }
}
