package io.tune4j.model;

import io.tune4j.model.arch.ModuleTable;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Randomly initialised weights in Hugging Face naming, for benchmarks at real architectures'
 * shapes and for tests. Matrices draw from N(0, std²), norms start at a scale of 1 (a weight of 0 where
 * the family's norm multiplies by 1 + w).
 */
public final class RandomWeights {
    private RandomWeights() {}

    public static Map<String, Tensor> create(LlamaConfig cfg, long seed, float std, Arena arena) {
        // host weights, as a checkpoint's are: LlamaModel.fromWeights copies them to a device backend
        if (arena.allocator().device() != io.tune4j.tensor.Device.CPU) {
            throw new IllegalArgumentException("random weights are drawn into a host arena, not one on "
                    + arena.allocator().device());
        }
        SplittableRandom rng = new SplittableRandom(seed);
        float norm = 1f - cfg.features().extras().normOffset();
        Map<String, Tensor> w = new LinkedHashMap<>();
        for (Map.Entry<String, ModuleTable.Entry> e : ModuleTable.entries(cfg).entrySet()) {
            ModuleTable.Entry m = e.getValue();
            w.put(e.getKey(), m.kind() == ModuleTable.Kind.NORM ? filled(arena, norm, m.shape()) : normal(arena, rng, std, m.shape()));
        }
        return w;
    }

    private static Tensor normal(Arena arena, SplittableRandom rng, float std, long... shape) {
        Tensor t = arena.f32(shape);
        long n = t.numel();
        // fill in slices: a FloatBuffer view is limited to 2^31 elements
        long chunk = 1 << 24;
        float[] buf = new float[(int) Math.min(n, chunk)];
        for (long off = 0; off < n; off += chunk) {
            int len = (int) Math.min(chunk, n - off);
            for (int i = 0; i < len; i++) {
                double u1 = rng.nextDouble(), u2 = rng.nextDouble();
                buf[i] = (float) (std * Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2));
            }
            FloatBuffer fb = t.view(n).slice(off, off + len).floats();
            fb.put(buf, 0, len);
        }
        return t;
    }

    private static Tensor filled(Arena arena, float value, long... shape) {
        Tensor t = arena.f32(shape);
        t.fill(value);
        return t;
    }
}
