package io.tune4j.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.InferenceContext;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.SamplingParams;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Check;
import io.tune4j.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Generation on the real stories260K model, in both of its checkpoint formats. */
class GenerationTest {
    static final String PROMPT = "Once upon a time";
    static final String EXPECTED = ", there was a little girl named Lily. She loved to play outside in the park.";
    static LoadedModel hf;
    static LoadedModel bin;

    @BeforeAll
    static void load() {
        Path hfDir = Fixtures.require("models/stories260K-hf");
        Path binFile = Fixtures.require("models/stories260K/stories260K.bin");
        hf = LoadedModel.load(hfDir, null, CpuOps.INSTANCE);
        bin = LoadedModel.load(binFile, binFile.resolveSibling("tok512.bin"), CpuOps.INSTANCE);
    }

    @AfterAll
    static void close() {
        if (hf != null) hf.close();
        if (bin != null) bin.close();
    }

    @Test
    void bothFormatsGiveTheSameLogitsAtEveryPosition() {
        int[] ids = hf.tokenizer().encode(PROMPT + EXPECTED, true);
        assertArrayEquals(ids, bin.tokenizer().encode(PROMPT + EXPECTED, true));
        float[][] a = logitsAtEveryPosition(hf, ids);
        float[][] b = logitsAtEveryPosition(bin, ids);
        for (int t = 0; t < ids.length; t++) {
            double[] ref = new double[b[t].length];
            for (int i = 0; i < ref.length; i++) ref[i] = b[t][i];
            Check.close("logits at position " + t, a[t], ref, 1e-5);
        }
    }

    /** Feeds the tokens one step at a time through the KV cache and keeps each step's logits. */
    private static float[][] logitsAtEveryPosition(LoadedModel m, int[] ids) {
        try (InferenceContext c = m.model().newInferenceContext(1, 64, 8)) {
            float[][] out = new float[ids.length][];
            for (int t = 0; t < ids.length; t++) {
                Tensor logits = m.model().step(c, new int[] {0}, new int[][] {{ids[t]}}, new int[] {t});
                out[t] = logits.toFloatArray();
            }
            return out;
        }
    }

    @Test
    void greedyContinuationIsTheKnownStoryInBothFormats() {
        for (LoadedModel m : List.of(hf, bin)) {
            try (Generator g = new Generator(m.model(), m.tokenizer(), 1)) {
                GenerationResult r = g.generate(PROMPT, GenerationConfig.greedy(40), null);
                assertTrue(r.text().startsWith(EXPECTED), "got: " + r.text());
                assertEquals(40, r.completionTokens());
                assertEquals(FinishReason.LENGTH, r.finishReason());
            }
        }
    }

    @Test
    void prefillInOneStepEqualsTokenByToken() {
        int[] ids = hf.tokenizer().encode(PROMPT + EXPECTED, true);
        float[][] stepwise = logitsAtEveryPosition(hf, ids);
        try (InferenceContext c = hf.model().newInferenceContext(1, 64, 64)) {
            float[] last = hf.model().step(c, new int[] {0}, new int[][] {ids}, new int[] {0}).toFloatArray();
            double[] ref = new double[last.length];
            for (int i = 0; i < ref.length; i++) ref[i] = stepwise[ids.length - 1][i];
            Check.close("prefill logits", last, ref, 1e-5);
        }
    }

    @Test
    void batchedDecodingOfDifferentLengthsMatchesOneAtATime() {
        List<String> prompts = List.of("Once upon a time", "The cat", "Tom and his mom went to the big store to buy",
                "One day");
        List<SamplingParams> samplers = List.of(SamplingParams.GREEDY, new SamplingParams(0.9f, 0, 0.95f, 1f),
                new SamplingParams(1.0f, 20, 1f, 1.1f), SamplingParams.GREEDY);
        List<int[]> ids = new ArrayList<>();
        List<GenerationConfig> cfgs = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            ids.add(hf.tokenizer().encode(prompts.get(i), true));
            cfgs.add(new GenerationConfig(25 + 5 * i, samplers.get(i), 100 + i, List.of(), true));
        }
        List<GenerationResult> alone = new ArrayList<>();
        try (Generator g = new Generator(hf.model(), hf.tokenizer(), 1)) {
            for (int i = 0; i < ids.size(); i++) alone.add(g.generate(ids.get(i), cfgs.get(i), null));
        }
        try (Generator g = new Generator(hf.model(), hf.tokenizer(), 4)) {
            List<GenerationResult> batched = g.generateBatch(ids, cfgs, null);
            for (int i = 0; i < ids.size(); i++) {
                assertArrayEquals(alone.get(i).tokens(), batched.get(i).tokens(), "prompt " + i);
                assertEquals(alone.get(i).text(), batched.get(i).text());
            }
        }
    }

    @Test
    void streamedDeltasAddUpToTheTextAndSeedsReproduce() {
        GenerationConfig cfg = new GenerationConfig(60, new SamplingParams(1.0f, 40, 0.9f, 1f), 42, List.of(), true);
        try (Generator g = new Generator(hf.model(), hf.tokenizer(), 1)) {
            StringBuilder streamed = new StringBuilder();
            List<Integer> tokens = new ArrayList<>();
            GenerationResult r = g.generate(PROMPT, cfg, (id, delta) -> {
                streamed.append(delta);
                tokens.add(id);
            });
            assertEquals(r.text(), streamed.toString());
            assertTrue(tokens.size() >= r.completionTokens());
            GenerationResult again = g.generate(PROMPT, cfg, null);
            assertArrayEquals(r.tokens(), again.tokens());
            GenerationResult other = g.generate(PROMPT,
                    new GenerationConfig(60, cfg.sampling(), 43, List.of(), true), null);
            assertNotEquals(r.text(), other.text());
        }
    }

    @Test
    void stopStringsEndTheTextBeforeTheStopAndAreNeverStreamed() {
        GenerationConfig cfg = new GenerationConfig(60, SamplingParams.GREEDY, 0, List.of("Lily.", "zzz"), true);
        try (Generator g = new Generator(hf.model(), hf.tokenizer(), 1)) {
            StringBuilder streamed = new StringBuilder();
            GenerationResult r = g.generate(PROMPT, cfg, (id, delta) -> streamed.append(delta));
            assertEquals(", there was a little girl named ", r.text());
            assertEquals(r.text(), streamed.toString());
            assertEquals(FinishReason.STOP, r.finishReason());
        }
    }

    @Test
    void endOfSequenceStopsGeneration() {
        // the llama2.c form: stories are delimited by BOS, which its tokenizer reports as an end token
        try (Generator g = new Generator(bin.model(), bin.tokenizer(), 1)) {
            GenerationResult r = g.generate(PROMPT, GenerationConfig.greedy(400), null);
            assertEquals(FinishReason.STOP, r.finishReason(), r.text());
            assertTrue(r.completionTokens() < 400);
            assertTrue(r.text().endsWith("You are a good friend.\""), r.text());
        }
    }

    @Test
    void aPromptThatFillsTheContextIsRejected() {
        try (Generator g = new Generator(hf.model(), hf.tokenizer(), 1)) {
            int[] longPrompt = new int[hf.config().maxPositions()];
            java.util.Arrays.fill(longPrompt, 300);
            PromptTooLongException e = assertThrows(PromptTooLongException.class,
                    () -> g.generate(longPrompt, GenerationConfig.greedy(5), null));
            assertTrue(e.getMessage().contains("512"), e.getMessage());
        }
    }
}
