package io.tune4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.InferenceContext;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.EnumSet;
import io.tune4j.data.FieldMapping;
import io.tune4j.data.RawTemplate;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Loss, likelihood scoring and generation metrics on the real stories260K model. */
class ModelEvalTest {
    static LoadedModel m;

    @BeforeAll
    static void load() {
        m = LoadedModel.load(Fixtures.require("models/stories260K-hf"), null, CpuOps.INSTANCE);
    }

    @AfterAll
    static void close() {
        if (m != null) m.close();
    }

    private static int[] tinyStoriesTokens() throws IOException {
        String text = Files.readString(Fixtures.require("data/tinystories/TinyStories-valid-excerpt.txt"));
        return m.tokenizer().encode(text, true);
    }

    @Test
    void perplexityIsLowOnTinyStoriesAndHighOnShuffledTokens() throws IOException {
        int[] tokens = tinyStoriesTokens();
        LossResult real = LossEvaluator.evaluate(m.model(), new TokenRowsBatchSource(tokens, 4, 128), 0, null);
        int[] shuffled = tokens.clone();
        Random rnd = new Random(42);
        for (int i = shuffled.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), t = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = t;
        }
        LossResult noise = LossEvaluator.evaluate(m.model(), new TokenRowsBatchSource(shuffled, 4, 128), 0, null);
        System.out.printf("tinystories: loss %.4f ppl %.3f over %d tokens; shuffled: ppl %.1f%n",
                real.meanLoss(), real.perplexity(), real.tokens(), noise.perplexity());
        assertEquals(real.batches() * 4L * 128, real.tokens());
        assertTrue(real.perplexity() < 20, "perplexity " + real.perplexity());
        assertTrue(noise.perplexity() > 5 * real.perplexity(), "shuffled " + noise.perplexity() + " vs " + real.perplexity());
    }

    @Test
    void examplesAsPlainTextGiveTheSameLossAsTheTokenStream() throws IOException {
        String text = Files.readString(Fixtures.require("data/tinystories/TinyStories-valid-excerpt.txt"));
        int[] tokens = m.tokenizer().encode(text, true);
        // one row per window; windows chain, so every token after BOS is predicted exactly once
        ExampleBatchSource src = ExampleBatchSource.of(List.of(new EvalExample("", text)), m.tokenizer(), 128, 512);
        LossResult viaExamples = LossEvaluator.evaluate(m.model(), src, 0, null);
        assertEquals(tokens.length - 1, viaExamples.tokens());
        int whole = (tokens.length - 1) / 128 * 128;
        LossResult viaRows = LossEvaluator.evaluate(m.model(), new TokenRowsBatchSource(tokens, 1, 128), 0, null);
        assertEquals(whole, viaRows.tokens());
        // same windows except the tail: the means agree closely
        assertEquals(viaRows.meanLoss(), viaExamples.meanLoss(), 0.05);
    }

    @Test
    void packedLossBatchesSumToTheLossOfEachExampleAlone() {
        List<EvalExample> examples = List.of(
                new EvalExample("Once upon a time", ", there was a little girl named Lily."),
                new EvalExample("", "Tom had a red ball. He liked to play with it every day."),
                new EvalExample("The cat sat", " on the mat.", List.of(" on the mat.", " in the sky.")),
                new EvalExample("Lily saw a big dog.", " She was scared, but the dog was kind."));
        ExampleBatchSource packed = ExampleBatchSource.of(examples, m.tokenizer(), 512, 64);
        assertTrue(packed.rows() < examples.size(), "several examples share a row");
        LossResult all = LossEvaluator.evaluate(m.model(), packed, 0, null);
        double sum = 0;
        long tokens = 0;
        for (EvalExample e : examples) {
            LossResult one = LossEvaluator.evaluate(m.model(), ExampleBatchSource.of(List.of(e), m.tokenizer(), 512, 64), 0, null);
            sum += one.lossSum();
            tokens += one.tokens();
        }
        assertEquals(tokens, all.tokens());
        assertEquals(sum, all.lossSum(), 1e-4 * sum);
    }

    /** Explicit reference: feed the span token by token through step() and sum log-softmax at each target. */
    private static double stepLogLikelihood(LikelihoodScorer.Span s) {
        int[] ids = s.ids();
        double ll = 0;
        try (InferenceContext c = m.model().newInferenceContext(1, ids.length, 1)) {
            for (int t = 0; t < ids.length - 1; t++) {
                Tensor logits = m.model().step(c, new int[] {0}, new int[][] {{ids[t]}}, new int[] {t});
                if (t + 1 < s.from()) continue;
                float[] x = logits.toFloatArray();
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (float v : x) max = Math.max(max, v);
                for (float v : x) sum += Math.exp(v - max);
                ll += x[ids[t + 1]] - max - Math.log(sum);
            }
        }
        return ll;
    }

    @Test
    void likelihoodScoringMatchesPerTokenStepComputationAndPicksTheLikelierOption() {
        LikelihoodScorer scorer = new LikelihoodScorer(m.model(), m.tokenizer(), 1024, null);
        EvalExample e = new EvalExample("Once upon a time, there was a little girl named", " Lily",
                List.of(" Bob", " Lily", " table"));
        LikelihoodScorer.OptionScores s = scorer.scoreOptions(List.of(e)).get(0);
        int explicitBest = 0;
        double[] explicit = new double[3];
        for (int i = 0; i < 3; i++) {
            LikelihoodScorer.Span span = scorer.span(e.prompt(), e.options().get(i));
            explicit[i] = stepLogLikelihood(span);
            assertEquals(explicit[i], s.logLikelihoods()[i], 1e-3 * Math.max(1, Math.abs(explicit[i])), "option " + i);
            assertEquals(span.continuationLength(), s.tokens()[i]);
            if (explicit[i] > explicit[explicitBest]) explicitBest = i;
        }
        assertEquals(explicitBest, s.best());
        assertEquals(1, s.best(), "the model's own greedy continuation is Lily");
    }

    @Test
    void packingManySpansGivesTheSameScoresAsOneAtATime() {
        LikelihoodScorer packed = new LikelihoodScorer(m.model(), m.tokenizer(), 96, null);
        LikelihoodScorer single = new LikelihoodScorer(m.model(), m.tokenizer(), 1, null);
        List<LikelihoodScorer.Span> spans = new ArrayList<>();
        String[] prompts = {"Once upon a time", "The dog ran to the", "Tom was sad. His mom said", "She"};
        String[] conts = {", there was a boy.", " park and played.", " \"Don't cry.\"", " smiled"};
        for (String p : prompts) for (String c : conts) spans.add(packed.span(p, c));
        double[] a = packed.score(spans), b = single.score(spans);
        for (int i = 0; i < spans.size(); i++) {
            assertEquals(b[i], a[i], 1e-3 * Math.max(1, Math.abs(b[i])), "span " + i);
            assertEquals(stepLogLikelihood(spans.get(i)), a[i], 1e-3 * Math.max(1, Math.abs(b[i])), "span " + i);
        }
    }

    @Test
    void generationMetricsOnTheModelsOwnContinuation() {
        EvalOptions opts = EvalOptions.defaults().withMaxNewTokens(30).withStop(List.of(".")).withSlots(2);
        Evaluator ev = new Evaluator(m.model(), m.tokenizer(), opts);
        List<EvalExample> examples = List.of(
                new EvalExample("Once upon a time", ", there was a little girl named Lily"),
                new EvalExample("Once upon a time", ", there was a big dog named Max"),
                new EvalExample("", "plain text is only for the loss"));
        EvalReport r = ev.evaluate(examples, EnumSet.of(Metric.LOSS, Metric.PERPLEXITY, Metric.EXACT_MATCH, Metric.ROUGE_L, Metric.BLEU));
        System.out.println(r.summary());
        assertEquals(0.5, r.exactMatch());
        // second pair: LCS ", there was a named" (5 of 8 tokens either way)
        assertEquals((1.0 + 5.0 / 8) / 2, r.rougeL(), 1e-12);
        assertTrue(r.bleu() > 0.3 && r.bleu() < 1, "bleu " + r.bleu());
        assertEquals(2, r.counts().generatedExamples());
        assertEquals(Math.exp(r.loss()), r.perplexity(), 1e-9);
        assertTrue(r.loss() > 0);
    }

    @Test
    void sentimentAccuracyBothWaysAndTheMajorityBaseline() throws IOException {
        FieldMapping sentiment = FieldMapping.of(FieldMapping.Kind.LABEL).withLabels(null, null,
                Map.of("0", " negative", "1", " positive"), null);
        List<EvalExample> dev = EvalExamples.from(Fixtures.require("data/sst2/dev.tsv"), null, null, sentiment,
                new RawTemplate(), 12);
        Evaluator ev = new Evaluator(m.model(), m.tokenizer(), EvalOptions.defaults().withSlots(4));
        EvalReport r = ev.evaluate(dev, EnumSet.of(Metric.ACCURACY, Metric.ACCURACY_GENERATE));
        System.out.println(r.summary());
        assertEquals(12, r.counts().labelExamples());
        assertEquals(r.counts().accuracyHits() / 12.0, r.accuracy(), 1e-12);
        assertTrue(r.accuracyGenerate() >= 0 && r.accuracyGenerate() <= 1);
        long positives = dev.stream().filter(e -> e.goldIndex() == 1).count();
        assertEquals(Math.max(positives, 12 - positives) / 12.0, r.majorityBaseline(), 1e-12);
        assertEquals(null, r.loss());
    }
}
