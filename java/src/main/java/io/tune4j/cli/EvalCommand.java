package io.tune4j.cli;

import io.tune4j.eval.AdapterAttacher;
import io.tune4j.eval.AnswerFormat;
import io.tune4j.eval.Bleu;
import io.tune4j.eval.EvalDataReader;
import io.tune4j.eval.EvalExample;
import io.tune4j.eval.EvalOptions;
import io.tune4j.eval.EvalReport;
import io.tune4j.eval.Evaluator;
import io.tune4j.eval.Metric;
import io.tune4j.model.LoadedModel;
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

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a model on a validation file. Prints one JSON object on stdout (loss, perplexity and "
                + "each requested metric); a readable summary goes to stderr.")
final class EvalCommand implements Callable<Integer> {
    /** Replaced by the adapter loader once it exists. */
    static AdapterAttacher adapterAttacher = (model, dir) -> io.tune4j.peft.Adapters.load(dir, model);

    @Mixin
    ModelOptions model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "fine-tuned adapter directory to evaluate on top of the model")
    Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "JSONL ({prompt, reference[, options|label]}, {question, answer} or {text}) or SST-2 style TSV")
    Path data;

    @Option(names = "--metric", split = ",", paramLabel = "NAME", defaultValue = "loss,perplexity",
            description = "loss, perplexity, exact_match, accuracy, accuracy_generate, rouge_l, bleu (comma-separated; "
                    + "default: ${DEFAULT-VALUE}); loss and perplexity are always reported")
    List<String> metrics;

    @Option(names = "--max-tokens", defaultValue = "64", description = "most new tokens per generated answer (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--limit", defaultValue = "0", description = "evaluate only the first N examples; 0 = all")
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
        if (!Files.isRegularFile(data)) throw new NoSuchFileException(data.toString());
        List<EvalExample> examples = EvalDataReader.read(data, limit);
        if (examples.isEmpty()) throw new IllegalArgumentException(data + ": no examples");
        requireMeasurable(want, examples);
        EvalOptions options = EvalOptions.defaults().withMaxNewTokens(maxTokens).withStop(stop).withSlots(slots)
                .withAnswerFormat(numericAnswer ? AnswerFormat.NUMBER : AnswerFormat.TEXT).withBleuSmoothing(smoothing);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (LoadedModel m = LoadedModel.load(model.model, model.tokenizer);
             FineTuneMethod method = adapter == null ? null : adapterAttacher.attach(m.model(), adapter)) {
            EvalReport report = new Evaluator(m.model(), m.tokenizer(), options, method).evaluate(examples, want);
            out.println(report.toJson());
            System.err.print(report.summary());
        }
        return 0;
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
