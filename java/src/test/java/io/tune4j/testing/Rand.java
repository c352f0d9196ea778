package io.tune4j.testing;

import io.tune4j.tensor.Tensor;
import java.util.SplittableRandom;

/** Fresh random inputs for every check: a new seed per test run, printed so a failure can be replayed. */
public final class Rand {
    private final SplittableRandom rng;
    public final long seed;

    public Rand() {
        this(Long.getLong("tune4j.test.seed", System.nanoTime()));
    }

    public Rand(long seed) {
        this.seed = seed;
        this.rng = new SplittableRandom(seed);
    }

    public float[] normal(int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (gaussian() * std);
        return out;
    }

    public double gaussian() {
        double u1 = rng.nextDouble(), u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    public int nextInt(int bound) {
        return rng.nextInt(bound);
    }

    public Tensor tensor(double std, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return Tensor.of(normal(Math.toIntExact(n), std), shape);
    }

    public Tensor ids(int bound, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        int[] v = new int[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = rng.nextInt(bound);
        return Tensor.ofInts(v, shape);
    }

    @Override
    public String toString() {
        return "seed=" + seed + " (replay with -Dtune4j.test.seed=" + seed + ")";
    }
}
