package io.tune4j.bench;

import static io.tune4j.bench.Env.*;

import io.tune4j.ops.AdamWParams;
import io.tune4j.tensor.Tensor;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One AdamW step over the parameters of one SmolLM2-135M decoder layer (9 tensors, 3.5M
 * values; the full model is 30 such layers plus the embedding). libtorch runs its C++
 * torch::optim::AdamW (one op per update term per tensor), with the same hyper-parameters.
 */
public class AdamWBench {
    static final long[][] SHAPES = {
            {HIDDEN}, {HEADS * HEAD_DIM, HIDDEN}, {KV_HEADS * HEAD_DIM, HIDDEN}, {KV_HEADS * HEAD_DIM, HIDDEN},
            {HIDDEN, HEADS * HEAD_DIM}, {HIDDEN}, {INTERMEDIATE, HIDDEN}, {INTERMEDIATE, HIDDEN}, {HIDDEN, INTERMEDIATE}};
    static final float LR = 1e-3f, BETA1 = 0.9f, BETA2 = 0.999f, ADAM_EPS = 1e-8f, WEIGHT_DECAY = 0.01f;

    static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    static long totalParameters() {
        long n = 0;
        for (long[] s : SHAPES) n += numel(s);
        return n;
    }

    @State(Scope.Thread)
    public static class Ours extends OursState {
        final Tensor[] p = new Tensor[SHAPES.length], g = new Tensor[SHAPES.length];
        final Tensor[] m = new Tensor[SHAPES.length], v = new Tensor[SHAPES.length];
        final AdamWParams hp = new AdamWParams(LR, BETA1, BETA2, ADAM_EPS, WEIGHT_DECAY);
        int step;

        @Setup(Level.Trial)
        public void setup() {
            for (int i = 0; i < SHAPES.length; i++) {
                p[i] = normal(10 + i, 0.02f, SHAPES[i]);
                g[i] = normal(100 + i, 1e-3f, SHAPES[i]);
                m[i] = zeros(SHAPES[i]);
                v[i] = zeros(SHAPES[i]);
            }
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        AdamW optimizer;

        @Setup(Level.Trial)
        public void setup() {
            org.bytedeco.pytorch.Tensor[] p = new org.bytedeco.pytorch.Tensor[SHAPES.length];
            for (int i = 0; i < SHAPES.length; i++) p[i] = leaf(10 + i, 0.02f, SHAPES[i]);
            // give every parameter its gradient once: d/dp sum(p * g) = g; the step never clears it
            try (PointerScope scope = new PointerScope()) {
                var loss = torch.zeros(1);
                for (int i = 0; i < SHAPES.length; i++) {
                    var g = Libtorch.floats(Env.normal(100 + i, numel(SHAPES[i]), 1e-3f), SHAPES[i]);
                    loss = loss.add(p[i].mul(g).sum());
                }
                loss.backward();
            }
            AdamWOptions options = keep(new AdamWOptions(LR));
            // betas keep their defaults (0.9, 0.999): the std::tuple behind betas() is not laid out
            // as a plain double[2], so writing it through the pointer is unsafe
            options.eps().put(ADAM_EPS);
            options.weight_decay().put(WEIGHT_DECAY);
            optimizer = keep(new AdamW(keep(new TensorVector(p)), options));
        }
    }

    @Benchmark
    public void tune4j(Ours s) {
        s.step++;
        for (int i = 0; i < SHAPES.length; i++) {
            s.ops.adamw(s.p[i], s.g[i], s.m[i], s.v[i], s.hp, s.step);
        }
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            s.optimizer.step();
        }
    }
}
