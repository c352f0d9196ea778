package io.tune4j.peft;

/** Deterministic seed mixing, so streams for (seed, step, site) are independent of one another. */
final class Seeds {
    private Seeds() {}

    /** splitmix64's finaliser: a bijection that spreads every input bit over the output. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static long mix(long seed, long a, long b) {
        return mix(mix(mix(seed + 0x9E3779B97F4A7C15L) + a) ^ (b * 0x9E3779B97F4A7C15L));
    }
}
