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

/**
 * LM head + mean cross-entropy over 1024 rows and a 49152 vocabulary, forward and backward to
 * dh and dW. tune4j fuses the head with the loss in row blocks (no [M,V] logits); libtorch
 * materialises the logits: linear then cross_entropy under autograd.
 */
public class CrossEntropyBench {
    static final int M = ROWS, D = HIDDEN, V = VOCAB;
    /** The block size LlamaModel's training context picks: 16M floats of logits at most. */
    static final int BLOCK_ROWS = (int) Math.max(1, Math.min(M, (16L << 20) / V));

    @State(Scope.Thread)
    public static class Ours extends OursState {
        Tensor h, w, targets, dh, dw, ws;

        @Setup(Level.Trial)
        public void setup() {
            h = normal(1, 1f, M, D);
            w = normal(2, 0.02f, V, D);
            targets = ints(Env.ints(3, M, V), M);
            dh = zeros(M, D);
            dw = zeros(V, D);
            ws = zeros((long) BLOCK_ROWS * V);
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        org.bytedeco.pytorch.Tensor h, w, targets;

        @Setup(Level.Trial)
        public void setup() {
            h = leaf(1, 1f, M, D);
            w = leaf(2, 0.02f, V, D);
            targets = longs(Env.ints(3, M, V), M);
        }
    }

    @Benchmark
    public double tune4j(Ours s) {
        return s.ops.lmHeadCrossEntropy(s.dh, s.dw, s.h, s.w, s.targets, 1f / M, s.ws, BLOCK_ROWS)[0];
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            var loss = torch.cross_entropy(Libtorch.linear(s.h, s.w), s.targets);
            loss.backward();
        }
    }
}
