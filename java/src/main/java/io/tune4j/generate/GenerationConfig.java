package io.tune4j.generate;

import io.tune4j.ops.SamplingParams;
import java.util.List;

/** How to continue one prompt: length limit, sampling controls, seed and stop strings. */
public record GenerationConfig(int maxNewTokens, SamplingParams sampling, long seed, List<String> stop,
                               boolean stopAtEos) {
    public GenerationConfig {
        if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (String s : stop) if (s.isEmpty()) throw new IllegalArgumentException("stop strings must not be empty");
    }

    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, SamplingParams.GREEDY, 0L, List.of(), true);
    }
}
