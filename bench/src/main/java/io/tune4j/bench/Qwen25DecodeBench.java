package io.tune4j.bench;

import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.Arena;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Single-stream greedy decoding at Qwen2.5-0.5B shape (random weights, q/k/v biases, tied 151936-token
 * head), as {@link DecodeBench}: prefill a 16-token prompt, then NEW_TOKENS tokens; the score is time
 * per token, prefill amortised.
 */
public class Qwen25DecodeBench {
    static final int TOKENS = Qwen25.NEW_TOKENS;

    @State(Scope.Thread)
    public static class Ours {
        Arena weights;
        TunedDecoder decoder;
        int[] prompt;

        @Setup(Level.Trial)
        public void setup() {
            NativeLib.t4j_set_num_threads(Env.threads());
            weights = new Arena();
            decoder = new TunedDecoder(Qwen25.DECODE_CONFIG, Qwen25.decodeWeights(weights), Qwen25.PROMPT_TOKENS);
            prompt = Qwen25.prompt();
        }

        @TearDown(Level.Trial)
        public void release() {
            decoder.close();
            weights.close();
        }
    }

    @State(Scope.Thread)
    public static class Torch {
        TorchDecoder decoder;
        int[] prompt;

        @Setup(Level.Trial)
        public void setup() {
            Libtorch.setThreads(Env.threads());
            try (Arena weights = new Arena()) {
                decoder = new TorchDecoder(Qwen25.DECODE_CONFIG, Qwen25.decodeWeights(weights));
            }
            prompt = Qwen25.prompt();
        }

        @TearDown(Level.Trial)
        public void release() {
            decoder.close();
        }
    }

    @Benchmark
    @OperationsPerInvocation(TOKENS)
    public int[] tune4j(Ours s) {
        return s.decoder.greedy(s.prompt, TOKENS);
    }

    @Benchmark
    @OperationsPerInvocation(TOKENS)
    public int[] libtorch(Torch s) {
        return s.decoder.greedy(s.prompt, TOKENS);
    }

    /** Both decoders once on the same weights and prompt, the first CHECK_TOKENS greedy tokens compared. */
    static String check() {
        try (Arena weights = new Arena()) {
            return DecodeBench.compare(Qwen25.DECODE_CONFIG, Qwen25.decodeWeights(weights), Qwen25.prompt(),
                    Qwen25.PROMPT_TOKENS, Qwen25.CHECK_TOKENS);
        }
    }
}
