package io.tune4j.model;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Randomly initialised weights in Hugging Face naming, for benchmarks at real architectures'
 * shapes and for tests. Matrices draw from N(0, std²), norms start at 1.
 */
public final class RandomWeights {
    private RandomWeights() {}

    public static Map<String, Tensor> create(LlamaConfig cfg, long seed, float std, Arena arena) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, Tensor> w = new LinkedHashMap<>();
        int d = cfg.hiddenSize(), I = cfg.intermediateSize();
        w.put("model.embed_tokens.weight", normal(arena, rng, std, cfg.vocabSize(), d));
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            w.put(p + "input_layernorm.weight", ones(arena, rng, d));
            w.put(p + "post_attention_layernorm.weight", ones(arena, rng, d));
            w.put(p + "self_attn.q_proj.weight", normal(arena, rng, std, cfg.qDim(), d));
            w.put(p + "self_attn.k_proj.weight", normal(arena, rng, std, cfg.kvDim(), d));
            w.put(p + "self_attn.v_proj.weight", normal(arena, rng, std, cfg.kvDim(), d));
            w.put(p + "self_attn.o_proj.weight", normal(arena, rng, std, d, cfg.qDim()));
            w.put(p + "mlp.gate_proj.weight", normal(arena, rng, std, I, d));
            w.put(p + "mlp.up_proj.weight", normal(arena, rng, std, I, d));
            w.put(p + "mlp.down_proj.weight", normal(arena, rng, std, d, I));
            if (cfg.attentionBias()) {
                w.put(p + "self_attn.q_proj.bias", normal(arena, rng, std, cfg.qDim()));
                w.put(p + "self_attn.k_proj.bias", normal(arena, rng, std, cfg.kvDim()));
                w.put(p + "self_attn.v_proj.bias", normal(arena, rng, std, cfg.kvDim()));
                w.put(p + "self_attn.o_proj.bias", normal(arena, rng, std, d));
            }
        }
        w.put("model.norm.weight", ones(arena, rng, d));
        if (!cfg.tieWordEmbeddings()) w.put("lm_head.weight", normal(arena, rng, std, cfg.vocabSize(), d));
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

    private static Tensor ones(Arena arena, SplittableRandom rng, long d) {
        Tensor t = arena.f32(d);
        t.fill(1f);
        return t;
    }
}
