package io.tune4j.eval;

import io.tune4j.data.BatchSource;
import io.tune4j.generate.GenerationConfig;
import io.tune4j.generate.GenerationResult;
import io.tune4j.generate.Generator;
import io.tune4j.model.LlamaModel;
import io.tune4j.ops.SamplingParams;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Evaluates a model (optionally with a fine-tuning method attached) on a validation set: loss and
 * perplexity from forward passes, exact match / ROUGE-L / BLEU / generation accuracy from greedy
 * batched generation, and label accuracy from option likelihoods.
 */
public final class Evaluator {
    /** Tokens a label example may generate beyond its longest option: more can never match. */
    private static final int LABEL_SLACK_TOKENS = 4;

    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final EvalOptions options;
    private final FineTuneMethod method;

    /** method may be null (the plain model); its beforeForward runs before every forward. */
    public Evaluator(LlamaModel model, Tokenizer tokenizer, EvalOptions options, FineTuneMethod method) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options == null ? EvalOptions.defaults() : options;
        this.method = method;
    }

    public Evaluator(LlamaModel model, Tokenizer tokenizer, EvalOptions options) {
        this(model, tokenizer, options, null);
    }

    public EvalOptions options() {
        return options;
    }

    private Runnable hook() {
        return method == null ? null : method::beforeForward;
    }

    /** Loss over the given batches (the data package's validation batches, say). */
    public LossResult loss(BatchSource source) {
        return LossEvaluator.evaluate(model, source, 0, hook());
    }

    /** Evaluates the metrics on the examples; loss batches come from the examples themselves. */
    public EvalReport evaluate(List<EvalExample> examples, Set<Metric> metrics) {
        return evaluate(examples, null, metrics);
    }

    /**
     * Evaluates the metrics on the examples. lossBatches (may be null: built from the examples)
     * is what loss and perplexity are computed over.
     */
    public EvalReport evaluate(List<EvalExample> examples, BatchSource lossBatches, Set<Metric> metrics) {
        long t0 = System.nanoTime();
        Set<Metric> want = metrics.isEmpty() ? EnumSet.noneOf(Metric.class) : EnumSet.copyOf(metrics);
        Double loss = null, ppl = null;
        Long lossTokens = null;
        Integer lossBatchCount = null;
        if (want.contains(Metric.LOSS) || want.contains(Metric.PERPLEXITY)) {
            BatchSource src = lossBatches != null ? lossBatches
                    : ExampleBatchSource.of(examples, tokenizer, model.config().maxPositions(), options.batchTokens());
            LossResult r = LossEvaluator.evaluate(model, src, 0, hook());
            if (r.tokens() == 0) throw new IllegalArgumentException("no tokens to compute the loss over");
            if (want.contains(Metric.LOSS)) loss = r.meanLoss();
            if (want.contains(Metric.PERPLEXITY)) ppl = r.perplexity();
            lossTokens = r.tokens();
            lossBatchCount = r.batches();
        }

        List<EvalExample> labelled = examples.stream().filter(EvalExample::isLabelTask).toList();
        Double accuracy = null, majority = null;
        Integer accuracyHits = null;
        if (want.contains(Metric.ACCURACY) && !labelled.isEmpty()) {
            List<LikelihoodScorer.OptionScores> scores =
                    new LikelihoodScorer(model, tokenizer, options.batchTokens(), hook()).scoreOptions(labelled);
            int hits = 0;
            for (int i = 0; i < labelled.size(); i++) if (scores.get(i).best() == labelled.get(i).goldIndex()) hits++;
            accuracyHits = hits;
            accuracy = (double) hits / labelled.size();
        }
        if ((want.contains(Metric.ACCURACY) || want.contains(Metric.ACCURACY_GENERATE)) && !labelled.isEmpty()) {
            majority = majorityBaseline(labelled);
        }

        Double exact = null, rouge = null, bleu = null, accGen = null;
        Integer generatedCount = null, exactHits = null, accGenHits = null;
        Long generatedTokens = null;
        if (want.stream().anyMatch(Metric::needsGeneration)) {
            // plain text (no prompt) has nothing to continue
            List<EvalExample> gen = examples.stream().filter(e -> !e.prompt().isEmpty()).toList();
            List<GenerationResult> results = generate(gen);
            List<String> preds = results.stream().map(GenerationResult::text).toList();
            List<String> refs = gen.stream().map(EvalExample::reference).toList();
            generatedCount = gen.size();
            generatedTokens = results.stream().mapToLong(GenerationResult::completionTokens).sum();
            if (!gen.isEmpty()) {
                if (want.contains(Metric.EXACT_MATCH)) {
                    int hits = 0;
                    for (int i = 0; i < gen.size(); i++) {
                        if (ExactMatch.matches(preds.get(i), refs.get(i), options.answerFormat())) hits++;
                    }
                    exactHits = hits;
                    exact = (double) hits / gen.size();
                }
                if (want.contains(Metric.ROUGE_L)) {
                    double sum = 0;
                    for (int i = 0; i < gen.size(); i++) sum += RougeL.f1(preds.get(i), refs.get(i));
                    rouge = sum / gen.size();
                }
                if (want.contains(Metric.BLEU)) bleu = Bleu.corpus(preds, refs, options.bleuSmoothing()).bleu();
                if (want.contains(Metric.ACCURACY_GENERATE)) {
                    int hits = 0, n = 0;
                    for (int i = 0; i < gen.size(); i++) {
                        if (!gen.get(i).isLabelTask()) continue;
                        n++;
                        if (ExactMatch.matches(preds.get(i), refs.get(i), AnswerFormat.TEXT)) hits++;
                    }
                    if (n > 0) {
                        accGenHits = hits;
                        accGen = (double) hits / n;
                    }
                }
            }
        }
        EvalReport.Counts counts = new EvalReport.Counts(examples.size(), lossTokens, lossBatchCount, generatedCount,
                generatedTokens, labelled.isEmpty() ? null : labelled.size(), exactHits, accuracyHits, accGenHits);
        boolean generated = generatedCount != null;
        EvalReport.Settings settings = new EvalReport.Settings(generated ? options.maxNewTokens() : null,
                generated ? options.stop() : null,
                want.contains(Metric.EXACT_MATCH) ? options.answerFormat().name().toLowerCase() : null,
                want.contains(Metric.BLEU) ? options.bleuSmoothing().name().toLowerCase() : null);
        return new EvalReport(loss, ppl, exact, accuracy, accGen, majority, rouge, bleu, counts, settings,
                (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Greedy continuations, decoded options.slots() at a time. Label examples also stop at a
     * newline and after a few tokens more than their longest option. Prompts too long for the
     * context keep BOS and their last tokens.
     */
    public List<GenerationResult> generate(List<EvalExample> examples) {
        if (examples.isEmpty()) return List.of();
        List<int[]> prompts = new ArrayList<>();
        List<GenerationConfig> configs = new ArrayList<>();
        int ctx = model.config().maxPositions();
        for (EvalExample e : examples) {
            int maxNew = options.maxNewTokens();
            List<String> stop = options.stop();
            if (e.isLabelTask()) {
                int longest = 0;
                for (String o : e.options()) longest = Math.max(longest, tokenizer.encode(o, false).length);
                maxNew = Math.min(maxNew, longest + LABEL_SLACK_TOKENS);
                if (!stop.contains("\n")) {
                    stop = new ArrayList<>(stop);
                    stop.add("\n");
                }
            }
            maxNew = Math.min(maxNew, ctx - 2);
            int[] p = tokenizer.encode(e.prompt(), true);
            int room = ctx - maxNew - 1;
            if (p.length > room) p = keepTail(p, room, tokenizer.bosId());
            prompts.add(p);
            configs.add(new GenerationConfig(maxNew, SamplingParams.GREEDY, 0L, stop, true));
        }
        if (method != null) method.beforeForward();
        try (Generator g = new Generator(model, tokenizer, Math.min(options.slots(), examples.size()))) {
            return g.generateBatch(prompts, configs, null);
        }
    }

    private static int[] keepTail(int[] p, int room, int bos) {
        boolean hasBos = bos >= 0 && p.length > 0 && p[0] == bos;
        int keep = Math.max(1, room);
        if (!hasBos) return Arrays.copyOfRange(p, p.length - keep, p.length);
        int[] out = new int[keep];
        out[0] = bos;
        System.arraycopy(p, p.length - (keep - 1), out, 1, keep - 1);
        return out;
    }

    /** Accuracy of always answering the most frequent reference label of these examples. */
    static double majorityBaseline(List<EvalExample> labelled) {
        Map<String, Integer> freq = new HashMap<>();
        int best = 0;
        for (EvalExample e : labelled) best = Math.max(best, freq.merge(e.reference(), 1, Integer::sum));
        return (double) best / labelled.size();
    }
}
