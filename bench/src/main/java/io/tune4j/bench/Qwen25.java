package io.tune4j.bench;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.arch.ArchFeatures;
import io.tune4j.ops.RopeScaling;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * The Qwen2.5-0.5B architecture (model_type qwen2) with random weights: hidden 896, intermediate 4864,
 * 24 layers, 14 query heads over 2 KV heads of 64, vocabulary 151936, tied embeddings, biases on q/k/v
 * (none on o_proj or the MLP), rope_theta 1e6, rms eps 1e-6, no sliding window. 494M parameters, about
 * 2 GB per fp32 copy.
 */
final class Qwen25 {
    private Qwen25() {}

    static final ArchFeatures QWEN2 = new ArchFeatures("qwen2", true, false, 0, List.of());

    /** Training shape: the model's own 32768-position context. */
    static final LlamaConfig CONFIG = config(32768);
    /** Decoding shape: the same model with a 256-position KV cache (prompt + tokens fit; same math). */
    static final LlamaConfig DECODE_CONFIG = config(256);
    static final int PROMPT_TOKENS = 16;
    /** A compile-time constant for @OperationsPerInvocation; as for stories15M. */
    static final int NEW_TOKENS = 128;
    /** Tokens the decode check compares (a short run: libtorch decodes this shape at a few tokens/s). */
    static final int CHECK_TOKENS = 16;
    static final long SEED = 25;
    /** As stories15M's decode weights: wide enough that the top logits rarely tie within fp32 rounding. */
    static final float DECODE_STD = 0.05f;

    static LlamaConfig config(int maxPositions) {
        // bos: Qwen has none in its tokenizer; any id serves for random weights
        return new LlamaConfig(151936, 896, 4864, 24, 14, 2, 64, maxPositions, 1e-6f, RopeScaling.none(1_000_000f), true,
                151643, new int[] {151645}, "silu", false, false, QWEN2);
    }

    static Map<String, Tensor> decodeWeights(Arena arena) {
        return RandomWeights.create(DECODE_CONFIG, SEED, DECODE_STD, arena);
    }

    static int[] prompt() {
        return Env.ints(SEED + 1, PROMPT_TOKENS, DECODE_CONFIG.vocabSize());
    }
}
