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
 * Single-stream greedy decoding on a stories15M-shaped model: prefill a 16-token prompt, then
 * generate NEW_TOKENS tokens. One operation is one generated token, so the score is time per
 * token (prefill included, amortised) and its inverse is tokens per second.
 */
public class DecodeBench {
    static final int TOKENS = Stories15M.NEW_TOKENS;

    @State(Scope.Thread)
    public static class Ours {
        Arena weights;
        TunedDecoder decoder;
        int[] prompt;

        @Setup(Level.Trial)
        public void setup() {
            NativeLib.t4j_set_num_threads(Env.threads());
            weights = new Arena();
            decoder = new TunedDecoder(Stories15M.CONFIG, Stories15M.weights(weights), Stories15M.PROMPT_TOKENS);
            prompt = Stories15M.prompt();
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
            // the random weights are generated in native memory, copied to libtorch, then freed
            try (Arena weights = new Arena()) {
                decoder = new TorchDecoder(Stories15M.CONFIG, Stories15M.weights(weights));
            }
            prompt = Stories15M.prompt();
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

    /**
     * Runs both decoders once on the same weights and prompt and reports whether their greedy
     * tokens agree: the speed comparison only means something if they compute the same thing.
     */
    static String check() {
        try (Arena weights = new Arena()) {
            return compare(Stories15M.CONFIG, Stories15M.weights(weights), Stories15M.prompt(), Stories15M.PROMPT_TOKENS,
                    TOKENS);
        }
    }

    /** Greedy tokens of both decoders on the same weights and prompt, compared; the line the table prints. */
    static String compare(io.tune4j.model.LlamaConfig cfg, java.util.Map<String, io.tune4j.tensor.Tensor> w, int[] prompt,
                          int promptTokens, int tokens) {
        int[] ours, theirs;
        try (TunedDecoder d = new TunedDecoder(cfg, w, promptTokens)) {
            ours = d.greedy(prompt, tokens);
        }
        try (TorchDecoder d = new TorchDecoder(cfg, w)) {
            theirs = d.greedy(prompt, tokens);
        }
        for (int i = 0; i < tokens; i++) {
            if (ours[i] != theirs[i]) {
                return "MISMATCH: greedy tokens differ from token " + i + " of " + tokens + " (tune4j " + ours[i]
                        + ", libtorch " + theirs[i] + ")";
            }
        }
        return "OK: tune4j and libtorch produce the same " + tokens + " greedy tokens";
    }
}
