package io.tune4j.train;

/**
 * The run's random stream as one long of state (SplitMix64), so that a checkpoint can hold it
 * exactly; it advances once per micro-batch.
 */
final class SplitMix {
    private SplitMix() {}

    static long next(long state) {
        return state + 0x9E3779B97F4A7C15L;
    }

    /** The random value of a state. */
    static long value(long state) {
        long z = state;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
