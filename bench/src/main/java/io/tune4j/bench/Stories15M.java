package io.tune4j.bench;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.RandomWeights;
import io.tune4j.ops.RopeScaling;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.util.Map;

/** The stories15M architecture (llama2.c) with random weights, and the prompt both decoders get. */
public final class Stories15M {
    private Stories15M() {}

    public static final LlamaConfig CONFIG = new LlamaConfig(32000, 288, 768, 6, 6, 6, 48, 256, 1e-5f,
            RopeScaling.none(10000f), true, 1, new int[] {2}, "silu", false, false);
    static final int PROMPT_TOKENS = 16;
    /** A compile-time constant: JMH's @OperationsPerInvocation needs one. */
    static final int NEW_TOKENS = 128;
    public static final long SEED = 15;
    /** Wide enough that the top logits of random weights rarely sit within fp32 rounding of each other. */
    public static final float WEIGHT_STD = 0.05f;

    public static Map<String, Tensor> weights(Arena arena) {
        return RandomWeights.create(CONFIG, SEED, WEIGHT_STD, arena);
    }

    static int[] prompt() {
        int[] p = Env.ints(SEED + 1, PROMPT_TOKENS, CONFIG.vocabSize());
        p[0] = CONFIG.bosTokenId();
        return p;
    }
}
