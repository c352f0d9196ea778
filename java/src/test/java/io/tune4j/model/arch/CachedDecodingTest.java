package io.tune4j.model.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.testing.Backends;
import io.tune4j.testing.FamilyConfigs;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Greedy text from a cached decode (prefill, then one token a step against the KV cache) equals greedy
 * text from full forwards over the whole sequence at every step, for every family, past the sliding windows:
 * the logits agree to rounding at every position, and so do the picks, except at a near tie, which
 * rounding may break either way.
 */
class CachedDecodingTest {
    static final int PROMPT = 4, NEW = 40;

    static Stream<Arguments> families() {
        return Backends.all().stream().flatMap(ops -> FamilyConfigs.all().stream().map(c -> Arguments.of(ops, c[0], c[1])));
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("families")
    void greedyTextIsTheSameWithAndWithoutTheCache(Ops ops, String name, String json) throws Exception {
        LlamaConfig cfg = LlamaConfigReader.parse(Path.of(name + "/config.json"), new ObjectMapper().readTree(json));
        int total = PROMPT + NEW;
        try (Arena arena = new Arena();
             LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, 17L, 0.3f, arena), ops)) {
            int[] prompt = {1, 5, 9, 2};
            int[] cached = Arrays.copyOf(prompt, total);
            float[][] cachedLogits = new float[total][];
            try (InferenceContext ic = model.newInferenceContext(1, total, total)) {
                float[] lg = ops.readFloats(model.step(ic, new int[] {0}, new int[][] {prompt}, new int[] {0}));
                for (int pos = PROMPT; pos < total; pos++) {
                    cachedLogits[pos] = lg;
                    cached[pos] = pick(lg, cached, pos);
                    if (pos + 1 < total) {
                        lg = ops.readFloats(model.step(ic, new int[] {0}, new int[][] {{cached[pos]}}, new int[] {pos}));
                    }
                }
            }
            // Full forwards over the cached text's prefixes: each must pick the same next token. Where the two
            // best candidates lie closer than the two paths' rounding can separate, either pick is right, and
            // the comparison goes on from the cached token (comparing whole texts would end at the first tie).
            int ties = 0;
            for (int pos = PROMPT; pos < total; pos++) {
                // a fresh context each step: the whole sequence so far in one forward, no cache carried over
                try (InferenceContext ic = model.newInferenceContext(1, total, total)) {
                    int[] seq = Arrays.copyOf(cached, pos);
                    float[] lg = ops.readFloats(model.step(ic, new int[] {0}, new int[][] {seq}, new int[] {0}));
                    assertClose(name + ": logits at position " + pos + ", cached against a full forward", cachedLogits[pos], lg);
                    int full = pick(lg, cached, pos);
                    if (full == cached[pos]) continue;
                    float gap = Math.abs(lg[full] - lg[cached[pos]]);
                    float scale = Math.max(1f, Math.abs(lg[full]));
                    assertTrue(gap <= 1e-4f * scale, name + ": at position " + pos + " the full forward picks " + full
                            + " and the cached decode " + cached[pos] + ", logits " + lg[full] + " and "
                            + lg[cached[pos]] + " (not a tie)");
                    ties++;
                }
            }
            assertTrue(ties <= 2, name + ": " + ties + " near ties in " + NEW + " tokens");
            long distinct = Arrays.stream(cached, PROMPT, total).distinct().count();
            assertTrue(distinct >= 5, name + ": only " + distinct + " distinct generated tokens");
        }
    }

    /** Norm-wise: the two paths sum in different orders, so they agree to fp32 rounding (each is within 1e-5 of
     * float64 in ArchitectureReferenceTest), not bit for bit. */
    private static void assertClose(String what, float[] got, float[] ref) {
        double err = 0, norm = 0;
        for (int v = 0; v < ref.length; v++) {
            err += ((double) got[v] - ref[v]) * ((double) got[v] - ref[v]);
            norm += (double) ref[v] * ref[v];
        }
        assertTrue(got.length == ref.length && Math.sqrt(err) <= 2e-5 * Math.sqrt(norm),
                what + ": relative error " + Math.sqrt(err / norm));
    }

    // Greedy among the tokens not in the last 8, on both sides alike: small random models otherwise repeat
    // one token, and a text stuck on one token would compare little.
    private static int pick(float[] logits, int[] seq, int pos) {
        int best = -1;
        for (int v = 0; v < logits.length; v++) {
            boolean recent = false;
            for (int j = Math.max(0, pos - 8); j < pos; j++) recent |= seq[j] == v;
            if (!recent && (best < 0 || logits[v] > logits[best])) best = v;
        }
        return best;
    }
}
