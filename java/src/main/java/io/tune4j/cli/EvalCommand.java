package io.tune4j.cli;

import io.tune4j.eval.AdapterAttacher;
import io.tune4j.eval.AnswerFormat;
import io.tune4j.eval.Bleu;
import io.tune4j.eval.EvalExample;
import io.tune4j.eval.EvalOptions;
import io.tune4j.eval.EvalReport;
import io.tune4j.eval.Evaluator;
import io.tune4j.eval.Metric;
import io.tune4j.data.DataLoss;
import io.tune4j.data.PreferenceBatchSource;
import io.tune4j.data.PreferenceData;
import io.tune4j.data.Templates;
import io.tune4j.eval.PreferenceEval;
import io.tune4j.finetune.DataSpec;
import io.tune4j.finetune.FineTuneRun;
import io.tune4j.finetune.ValidationData;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.DeviceChoice;
import io.tune4j.model.ModelLocator;
import io.tune4j.peft.FineTuneMethod;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a model on a validation file. Prints one JSON object on stdout (loss, perplexity and "
                + "each requested metric); a readable summary goes to stderr.",
                "The file is read as finetune reads --val-data, with the same data flags (--template, --kind, --seq-len, "
                        + "--truncation, ...): loss and perplexity cover exactly the response tokens finetune validates on, "
                        + "and generation metrics ask each record's prompt and compare with its response."})
final class EvalCommand implements Callable<Integer> {
    /** Replaced by the adapter loader once it exists. */
    static AdapterAttacher adapterAttacher = (model, dir) -> io.tune4j.peft.Adapters.load(dir, model);

    @Mixin
    ModelOptions model;

    @Mixin
    DeviceOptions device;

    @Option(names = "--adapter", paramLabel = "DIR", description = "fine-tuned adapter directory to evaluate on top of the model")
    Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "any layout finetune reads (Alpaca, messages, prompt/completion or prompt/reference with optional "
                    + "options, question/answer, text+label, text) as .json, .jsonl, .csv, .tsv or .txt")
    Path data;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--batch-size", defaultValue = "" + FineTuneRun.DEFAULT_BATCH, paramLabel = "N",
            description = "sequences per loss batch (default: ${DEFAULT-VALUE}, as finetune)")
    int batchSize;

    @Option(names = "--seed", defaultValue = "42", description = "seed of the loss batches' order (default: ${DEFAULT-VALUE}, as finetune)")
    long seed;

    @Option(names = "--metric", split = ",", paramLabel = "NAME", defaultValue = "loss,perplexity",
            description = "loss, perplexity, exact_match, accuracy, accuracy_generate, rouge_l, bleu (comma-separated; "
                    + "default: ${DEFAULT-VALUE}); loss and perplexity are always reported")
    List<String> metrics;

    @Option(names = "--max-tokens", defaultValue = "64", description = "most new tokens per generated answer (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--limit", defaultValue = "" + io.tune4j.finetune.EvalSpec.DEFAULT_LIMIT, description = "evaluate the "
            + "first N examples, as finetune validates on its first --eval-limit (default: ${DEFAULT-VALUE}); 0 = all")
    int limit;

    @Option(names = "--stop", description = "generation stops at this text (repeatable), e.g. $'\\n'")
    List<String> stop;

    @Option(names = "--numeric-answer", description = "exact match compares the final number (GSM8K '#### N', else the last number)")
    boolean numericAnswer;

    @Option(names = "--bleu-smoothing", defaultValue = "exp", description = "exp (sacreBLEU default), add_one or none")
    String bleuSmoothing;

    @Option(names = "--slots", defaultValue = "8", description = "sequences generated together (default: ${DEFAULT-VALUE})")
    int slots;

    @Override
    public Integer call() throws Exception {
        if (limit < 0) throw new IllegalArgumentException("--limit must be >= 0, got " + limit);
        if (maxTokens < 1) throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
        EnumSet<Metric> want = EnumSet.of(Metric.LOSS, Metric.PERPLEXITY);
        for (String m : metrics) if (!m.isBlank()) want.add(Metric.parse(m));
        Bleu.Smoothing smoothing;
        try {
            smoothing = Bleu.Smoothing.valueOf(bleuSmoothing.strip().toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--bleu-smoothing: expected exp, add_one or none, got '" + bleuSmoothing + "'");
        }
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        if (!Files.isRegularFile(data)) throw new NoSuchFileException(data.toString());
        DataSpec spec = dataOptions.spec(data.toString(), null, null);
        EvalOptions options = EvalOptions.defaults().withMaxNewTokens(maxTokens).withStop(stop).withSlots(slots)
                .withAnswerFormat(numericAnswer ? AnswerFormat.NUMBER : AnswerFormat.TEXT).withBleuSmoothing(smoothing);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Path modelPath = ModelLocator.resolve(model.model);
        Path modelDir = Files.isDirectory(modelPath) ? modelPath : modelPath.toAbsolutePath().getParent();
        boolean preference = PreferenceData.isPreferenceFile(data, spec.dataFormat());
        DeviceChoice.Selection backend = device.selection();
        if (preference) backend = backend.withoutCuda("preference accuracy has no CUDA kernels yet");
        try (LoadedModel m = LoadedModel.load(modelPath, model.tokenizer, backend)) {
            m.announceDevice(System.err);
            if (preference) {
                preferenceAccuracy(m, spec, modelDir, out);
                return 0;
            }
            ValidationData v = ValidationData.read(spec, data, m, modelDir, limit, batchSize, seed);
            System.err.print(v.report().summary());
            if (spec.strict()) DataLoss.requireNone(v.report());
            List<EvalExample> examples = v.promptsAndReferences(spec, data, modelDir, limit);
            requireMeasurable(want, examples);
            try (FineTuneMethod method = adapter == null ? null : adapterAttacher.attach(m.model(), adapter)) {
                if (method != null) method.setTraining(false);
                EvalReport report = new Evaluator(m.model(), m.tokenizer(), options, method)
                        .evaluate(examples, v.lossBatches(), want);
                out.println(report.toJson());
                System.err.print(report.summary());
            }
        }
        return 0;
    }

    /** Records that are (chosen, rejected) pairs: the fraction whose chosen response the model finds more likely. */
    private void preferenceAccuracy(LoadedModel m, DataSpec spec, Path modelDir, PrintStream out) throws Exception {
        String template = spec.template() != null ? spec.template() : PreferenceData.defaultTemplate(data, spec.dataFormat(), modelDir);
        int seqLen = spec.seqLenFor(0, m.config().maxPositions());
        PreferenceData pairs = PreferenceData.load(new PreferenceData.Spec(data, null, 0, spec.dataFormat(),
                Templates.byName(template, modelDir), seqLen, seed, Boolean.TRUE.equals(spec.skipBadRecords())), m.tokenizer());
        System.err.print(pairs.summary());
        List<io.tune4j.data.TokenizedPair> kept = limit > 0 ? pairs.train().subList(0, Math.min(limit, pairs.train().size()))
                : pairs.train();
        // rows come in (chosen, rejected) pairs
        int rows = batchSize % 2 == 0 ? batchSize : batchSize + 1;
        PreferenceBatchSource batches = new PreferenceBatchSource(kept, rows, seqLen, seed, FineTuneRun.padId(m));
        try (FineTuneMethod method = adapter == null ? null : adapterAttacher.attach(m.model(), adapter)) {
            if (method != null) method.setTraining(false);
            PreferenceEval.Result r = PreferenceEval.evaluate(m.model(), batches, 0);
            out.println(r.toJson());
            System.err.println(r.summary());
        }
    }

    /** A requested metric with nothing to measure would silently vanish from the JSON: refuse it. */
    private void requireMeasurable(Set<Metric> want, List<EvalExample> examples) {
        boolean labels = examples.stream().anyMatch(EvalExample::isLabelTask);
        boolean prompts = examples.stream().anyMatch(e -> !e.prompt().isEmpty());
        for (Metric m : want) {
            if ((m == Metric.ACCURACY || m == Metric.ACCURACY_GENERATE) && !labels) {
                throw new IllegalArgumentException(data + ": metric " + m.id() + " needs label examples (with options)");
            }
            if (m.needsGeneration() && !prompts) {
                throw new IllegalArgumentException(data + ": metric " + m.id() + " needs examples with a prompt");
            }
        }
    }
}
