package io.tune4j.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import java.util.Arrays;
import java.util.Comparator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SamplingTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    static int javaArgmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void greedyIsArgmaxAndTiesGoToTheFirst(Ops ops) {
        Rand rnd = new Rand();
        for (int V : new int[] {1, 7, 1000, 50_000}) {
            try (Arena arena = new Arena()) {
                float[] l = rnd.normal(V, 3.0);
                int want = javaArgmax(l);
                if (V > 3) {  // a tie after the maximum: the first one must win
                    l[V - 1] = l[want];
                }
                Tensor logits = arena.adopt(Tensor.of(l, V));
                Tensor ws = arena.f32(2L * V);
                assertEquals(want, ops.argmax(logits), "argmax V=" + V + " " + rnd);
                float coin = (float) (rnd.nextInt(1000) / 1000.0);
                assertEquals(want, ops.sample(logits, SamplingParams.GREEDY, null, 0, coin, ws), "greedy V=" + V);
            }
        }
    }

    /** NaN never wins, an all-NaN input ends at the last index, ties go to the first, at any offset from a vector boundary. */
    @ParameterizedTest
    @MethodSource("backends")
    void argmaxSkipsNaNAndKeepsTheFirstOfEqualMaxima(Ops ops) {
        float nan = Float.NaN, ninf = Float.NEGATIVE_INFINITY;
        float[][] cases = {
            {nan, 1f, nan, 3f, 3f, nan, 2f, 0f, 3f, nan, 1f},
            {nan, nan, nan},
            {nan, ninf, nan, ninf},
            {ninf, ninf},
            {-0f, 0f, -1f},
        };
        int[] want = {3, 2, 1, 0, 0};
        try (Arena arena = new Arena()) {
            for (int c = 0; c < cases.length; c++) {
                assertEquals(want[c], ops.argmax(arena.adopt(Tensor.of(cases[c], cases[c].length))), "case " + c);
            }
            for (int V = 1; V <= 40; V++) {
                for (int at = 0; at < V; at++) {
                    float[] l = new float[V];
                    for (int i = 0; i < V; i++) l[i] = i % 3 == 0 ? nan : -i;
                    l[at] = 5f;
                    if (at + 9 < V) l[at + 9] = 5f; // a later tie, across a vector boundary
                    assertEquals(at, ops.argmax(arena.adopt(Tensor.of(l, V))), "V=" + V + " max at " + at);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void topKOfOneIsArgmaxForAnyCoin(Ops ops) {
        Rand rnd = new Rand();
        int V = 3000;
        try (Arena arena = new Arena()) {
            float[] l = rnd.normal(V, 1.0);
            int want = javaArgmax(l);
            Tensor logits = arena.adopt(Tensor.of(l, V));
            Tensor ws = arena.f32(2L * V);
            for (float coin : new float[] {0f, 0.25f, 0.5f, 0.999999f}) {
                for (float topP : new float[] {1f, 0.5f, 0.01f}) {
                    SamplingParams p = new SamplingParams(1.5f, 1, topP, 1f);
                    assertEquals(want, ops.sample(logits, p, null, 0, coin, ws), "top-k 1 coin " + coin + " " + rnd);
                }
            }
            // a tiny nucleus keeps only the most likely token as well
            assertEquals(want, ops.sample(logits, new SamplingParams(1f, 0, 1e-6f, 1f), null, 0, 0.99f, ws));
        }
    }

    /** softmax(l / T), keep top-k, then the smallest most-likely prefix with mass >= topP; renormalised. */
    static double[] filtered(float[] l, SamplingParams p) {
        int V = l.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float x : l) max = Math.max(max, x);
        double[] e = new double[V];
        for (int i = 0; i < V; i++) e[i] = Math.exp((l[i] - max) / p.temperature());
        Integer[] order = new Integer[V];
        for (int i = 0; i < V; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -e[i]));
        int keep = p.topK() > 0 ? Math.min(p.topK(), V) : V;
        double mass = 0;
        for (int i = 0; i < keep; i++) mass += e[order[i]];
        if (p.topP() < 1f) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += e[order[i]] / mass;
                if (cum >= p.topP()) {
                    assertTrue(Math.abs(cum - p.topP()) > 1e-4, "test logits sit on the top-p boundary");
                    keep = i + 1;
                    break;
                }
            }
        }
        double kept = 0;
        for (int i = 0; i < keep; i++) kept += e[order[i]];
        double[] out = new double[V];
        for (int i = 0; i < keep; i++) out[order[i]] = e[order[i]] / kept;
        return out;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void coinSweepReproducesTheFilteredDistribution(Ops ops) {
        float[] l = {2.0f, 1.5f, 1.2f, 0.3f, -0.4f, 0.9f, -1.0f, 0.0f};
        int V = l.length;
        SamplingParams[] configs = {
            new SamplingParams(0.7f, 0, 1f, 1f),
            new SamplingParams(1.3f, 5, 1f, 1f),
            new SamplingParams(1.0f, 0, 0.8f, 1f),
            new SamplingParams(0.9f, 6, 0.7f, 1f),
            new SamplingParams(2.0f, 3, 0.95f, 1f),
        };
        int N = 20_000;
        try (Arena arena = new Arena()) {
            Tensor logits = arena.f32(V);
            Tensor ws = arena.f32(2L * V);
            for (SamplingParams p : configs) {
                double[] want = filtered(l, p);
                int[] counts = new int[V];
                for (int n = 0; n < N; n++) {
                    logits.floats().put(0, l);
                    float coin = (float) ((n + 0.5) / N);
                    int tok = ops.sample(logits, p, null, 0, coin, ws);
                    assertTrue(tok >= 0 && tok < V, "token " + tok);
                    counts[tok]++;
                }
                for (int i = 0; i < V; i++) {
                    double got = counts[i] / (double) N;
                    assertEquals(want[i], got, 1e-3, p + " token " + i + ": " + Arrays.toString(counts));
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void repetitionPenaltyHitsEachRecentIdOnce(Ops ops) {
        float[] l = {3.0f, 2.8f, -0.5f, 1.0f, -2.0f, 0.1f};
        int V = l.length;
        float penalty = 1.3f;
        int[] recent = {0, 2, 0, 4, 0};  // id 0 three times: still one division
        try (Arena arena = new Arena()) {
            Tensor logits = arena.adopt(Tensor.of(l.clone(), V));
            Tensor rec = arena.adopt(Tensor.ofInts(recent, recent.length));
            Tensor ws = arena.f32(2L * V);
            int tok = ops.sample(logits, new SamplingParams(0f, 0, 1f, penalty), rec, recent.length, 0.5f, ws);
            float[] want = l.clone();
            want[0] = l[0] / penalty;
            want[2] = l[2] * penalty;
            want[4] = l[4] * penalty;
            assertArrayEquals(want, logits.toFloatArray(), 1e-6f);
            assertEquals(1, tok, "3.0/1.3 < 2.8: the repeated token loses the greedy pick");

            // sampling sees the penalised logits too: sweep coins over the penalised distribution
            SamplingParams p = new SamplingParams(1f, 0, 1f, penalty);
            double[] expect = filtered(want, new SamplingParams(1f, 0, 1f, 1f));
            int N = 10_000;
            int[] counts = new int[V];
            for (int n = 0; n < N; n++) {
                logits.floats().put(0, l);
                counts[ops.sample(logits, p, rec, recent.length, (float) ((n + 0.5) / N), ws)]++;
            }
            for (int i = 0; i < V; i++) assertEquals(expect[i], counts[i] / (double) N, 1e-3, "penalised token " + i);

            // a penalty of 1 changes nothing
            logits.floats().put(0, l);
            ops.sample(logits, new SamplingParams(0f, 0, 1f, 1f), rec, recent.length, 0.5f, ws);
            assertArrayEquals(l, logits.toFloatArray(), 0f);
        }
    }
}
