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
 * Token embedding lookup of 1024 ids in the 49152 x 576 table, forward and backward into the
 * table's gradient (dense, as in full fine-tuning; both sides accumulate into an existing one).
 */
public class EmbeddingBench {
    static final int M = ROWS, V = VOCAB, D = HIDDEN;

    @State(Scope.Thread)
    public static class Ours extends OursState {
        Tensor table, ids, out, dout, dtable;

        @Setup(Level.Trial)
        public void setup() {
            table = normal(1, 0.02f, V, D);
            ids = ints(Env.ints(2, M, V), M);
            dout = normal(3, 1f, M, D);
            out = zeros(M, D);
            dtable = zeros(V, D);
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        org.bytedeco.pytorch.Tensor table, ids, dout;

        @Setup(Level.Trial)
        public void setup() {
            table = leaf(1, 0.02f, V, D);
            ids = longs(Env.ints(2, M, V), M);
            dout = normal(3, 1f, M, D);
        }
    }

    @Benchmark
    public void tune4j(Ours s) {
        s.ops.embeddingForward(s.out, s.ids, s.table);
        s.ops.embeddingBackward(s.dtable, s.dout, s.ids);
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            var out = torch.embedding(s.table, s.ids);
            Libtorch.backward(out, s.dout);
        }
    }
}
