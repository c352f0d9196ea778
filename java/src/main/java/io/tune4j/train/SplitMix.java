package io.tune4j.train;

/**
 * The run's random stream as one long of state (a SplitMix64 counter), so that a checkpoint can
 * hold it exactly; it advances once per micro-batch. Nothing draws from it yet: it is the seed
 * source for dropout once {@code FineTuneMethod} takes a per-step seed.
 */
final class SplitMix {
    private SplitMix() {}

    static long next(long state) {
        return state + 0x9E3779B97F4A7C15L;
    }
}
