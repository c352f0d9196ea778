package io.tune4j.bench;

import io.tune4j.ops.MatmulPrecision;
import java.util.SplittableRandom;

/** Shapes and settings every benchmark shares; forks read the same system properties as the runner. */
final class Env {
    private Env() {}

    // SmolLM2-135M
    static final int HIDDEN = 576;
    static final int INTERMEDIATE = 1536;
    static final int HEADS = 9;
    static final int KV_HEADS = 3;
    static final int HEAD_DIM = 64;
    static final int VOCAB = 49152;
    static final float ROPE_THETA = 100000f;
    static final int MAX_POSITIONS = 8192;
    static final float EPS = 1e-5f;
    // a training micro-batch of 4 sequences of 256 tokens
    static final int BATCH = 4;
    static final int SEQ = 256;
    static final int ROWS = BATCH * SEQ;
    static final int LORA_RANK = 16;
    static final float LORA_SCALE = 32f / LORA_RANK; // alpha 32

    /** Intra-op threads for both libraries; the benchmark itself is one stream, as in training. */
    static int threads() {
        return Integer.getInteger("bench.threads", Runtime.getRuntime().availableProcessors());
    }

    /**
     * Matrix-product precision of both sides (bench.precision, fp32 by default). Under bf16 the
     * tune4j side runs its AMX products and libtorch multiplies bf16 operands (oneDNN), as
     * torch.autocast(device_type="cpu", dtype=torch.bfloat16) would; everything else stays fp32.
     */
    static MatmulPrecision precision() {
        return MatmulPrecision.parse(System.getProperty("bench.precision", "fp32"));
    }

    /** bench.weights=bf16: the tune4j decoder streams bf16 copies of its weights (serve --weights bf16). */
    static boolean bf16Weights() {
        return "bf16".equalsIgnoreCase(System.getProperty("bench.weights", "fp32"));
    }

    static boolean bf16() {
        return precision() == MatmulPrecision.BF16;
    }

    static float[] normal(long seed, long n, float std) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] out = new float[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i++) {
            double u1 = rng.nextDouble(), u2 = rng.nextDouble();
            out[i] = (float) (std * Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2));
        }
        return out;
    }

    static int[] ints(long seed, int n, int bound) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = rng.nextInt(bound);
        return out;
    }

    /** Position of each row of a [BATCH, SEQ] batch: every sequence starts at 0. */
    static int[] batchPositions() {
        int[] pos = new int[ROWS];
        for (int i = 0; i < ROWS; i++) pos[i] = i % SEQ;
        return pos;
    }
}
