package io.tune4j.finetune;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tune4j.data.BatchSource;
import io.tune4j.data.DatasetCache;
import io.tune4j.data.DatasetPreparer;
import io.tune4j.data.BatchSources;
import io.tune4j.data.DataLoss;
import io.tune4j.data.PreparedDataset;
import io.tune4j.data.PromptTemplate;
import io.tune4j.data.Templates;
import io.tune4j.data.TokenizedExample;
import io.tune4j.eval.BeforeAfterReport;
import io.tune4j.eval.EvalExample;
import io.tune4j.eval.EvalExamples;
import io.tune4j.eval.EvalOptions;
import io.tune4j.eval.EvalReport;
import io.tune4j.eval.Evaluator;
import io.tune4j.eval.Metric;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.ModelLocator;
import io.tune4j.ops.DeviceChoice;
import io.tune4j.ops.Ops;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.io.AtomicFiles;
import io.tune4j.train.TrainConfig;
import io.tune4j.train.TrainResult;
import io.tune4j.train.Trainer;
import io.tune4j.train.TrainingListener;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A whole fine-tuning run, data to evaluated deployable result: prepare the data (with its
 * report), evaluate the base model, train with the chosen method, evaluate the tuned model on
 * the same validation set, and save the adapter (PEFT layout) or full model.
 */
public final class FineTuneRun {
    /** Sequences per batch when the run does not say. */
    public static final int DEFAULT_BATCH = 8;

    private final FineTuneSpec spec;
    private final PrintStream log;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private boolean progress = true;
    private boolean resume;
    private DeviceChoice.Selection device;

    public FineTuneRun(FineTuneSpec spec, PrintStream log) {
        this.spec = spec;
        this.log = log;
    }

    public FineTuneRun listener(TrainingListener l) {
        listeners.add(l);
        return this;
    }

    /** Where the run trains and evaluates ({@code --device}); the default is auto. */
    public FineTuneRun device(DeviceChoice choice) {
        device = choice.select();
        return this;
    }

    /** The backend the run uses, chosen by the caller. */
    public FineTuneRun backend(Ops ops) {
        device = DeviceChoice.Selection.of(ops);
        return this;
    }

    /** Continue from the newest checkpoint in the output directory, if there is one. */
    public FineTuneRun resume(boolean on) {
        resume = on;
        return this;
    }

    public FineTuneRun progress(boolean on) {
        progress = on;
        return this;
    }

    public FineTuneResult run() {
        Path out = Path.of(spec.out());
        Path modelPath = ModelLocator.resolve(spec.model());
        Path tokenizerFile = spec.tokenizer() == null ? null : Path.of(spec.tokenizer());
        if (device == null) device = DeviceChoice.AUTO.select();
        // preference tuning's per-sequence log-probabilities have no CUDA kernel: refused or moved before any work
        DeviceChoice.Selection backend = spec.train().objective().preference()
                ? device.withoutCuda("preference tuning (" + spec.train().objective().id() + ") has no CUDA kernels yet")
                : device;
        try (LoadedModel m = LoadedModel.load(modelPath, tokenizerFile, backend)) {
            m.announceDevice(log);
            Files.createDirectories(out);
            AtomicFiles.writeString(out.resolve("run.yaml"), spec.toYaml());
            TrainConfig tc = spec.train();
            Path modelDir = Files.isDirectory(modelPath) ? modelPath : modelPath.toAbsolutePath().getParent();
            int seqLen = spec.data().seqLenFor(tc.seqLen(), m.config().maxPositions());
            // the method is built (and its settings checked) before any data work or training
            try (FineTuneMethod method = spec.method().create(modelPath, tc.seed())) {
                if (tc.objective().preference()) {
                    return PreferenceRun.run(new PreferenceRun.Context(spec, m, method, tc, seqLen, out, modelDir, log,
                            listeners, progress, resume));
                }
                DatasetPreparer.Spec prep = spec.data().prepareSpec(modelDir, tokenizerFile, seqLen, tc.seed());
                DatasetPreparer.Result prepared = DatasetPreparer.prepare(prep, m.tokenizer(), new DatasetCache(out.resolve("data")));
                PreparedDataset data = prepared.dataset();
                AtomicFiles.writeString(out.resolve("data-report.json"), json(data.report()));
                log.print(data.report().summary());
                if (spec.data().strict()) DataLoss.requireNone(data.report());
                if (data.train().isEmpty()) {
                    throw new IllegalArgumentException(spec.data().train() + ": no training examples left after preprocessing "
                            + "(see " + out.resolve("data-report.json") + ")");
                }
                int batch = tc.batchSize() > 0 ? tc.batchSize() : DEFAULT_BATCH;
                BatchSource train = batches(data.train(), batch, seqLen, tc.seed(), m);
                // validation loss before, during and after training runs on the same capped subset
                List<TokenizedExample> valExamples = data.validation().subList(0,
                        Math.min(data.validation().size(), spec.eval().limitOrDefault()));
                BatchSource val = valExamples.isEmpty() ? null : batches(valExamples, batch, seqLen, tc.seed(), m);

                List<EvalExample> evalExamples = evalExamples(modelDir, data.report().template());
                Set<Metric> metrics = metrics(evalExamples);
                EvalOptions eo = EvalOptions.defaults().withMaxNewTokens(spec.eval().maxTokens() == null ? 64 : spec.eval().maxTokens());
                EvalReport before = evaluate(m, null, eo, evalExamples, val, metrics);
                log.println("base model:  " + before.summary().strip().replace("\n", "; "));

                Trainer.Builder tb = Trainer.builder().model(m.model()).method(method).train(train).validation(val)
                        .config(tc.toBuilder().seqLen(seqLen).batchSize(batch).build()).outputDir(out).progress(progress);
                for (TrainingListener l : listeners) tb.listener(l);
                if (resume) tb.resumeLatest();
                TrainResult tr = tb.build().run();

                method.setTraining(false);
                EvalReport after = evaluate(m, method, eo, evalExamples, val, metrics);
                BeforeAfterReport report = new BeforeAfterReport(before, after, val == null ? null
                        : BeforeAfterReport.Selection.of(tc.select().name().toLowerCase(java.util.Locale.ROOT), tr.keptStep(),
                                tr.steps(), tr.bestValLoss(), tr.lastValLoss(), before.loss(), after.loss()));
                AtomicFiles.writeString(out.resolve("eval.json"), report.toJson());
                log.print(report.summary());

                return new FineTuneResult(tr, report, keepResult(tr, out.resolve(spec.method().resultDirName())), out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": " + e.getMessage(), e);
        }
    }

    private BatchSource batches(List<TokenizedExample> xs, int batch, int seqLen, long seed, LoadedModel m) {
        return BatchSources.of(xs, batch, seqLen, seed, spec.data().pack(), padId(m));
    }

    /** Padding id of the batches: the model's first EOS (any id would do: padded positions carry no loss). */
    public static int padId(LoadedModel m) {
        return m.config().eosTokenIds().length > 0 ? m.config().eosTokenIds()[0] : 0;
    }

    /** Generation metrics need prompts and references: taken from a validation file, when there is one. */
    private List<EvalExample> evalExamples(Path modelDir, String templateName) {
        if (spec.data().validation() == null) return List.of();
        Set<String> wanted = new LinkedHashSet<>(spec.eval().metrics());
        wanted.removeAll(Set.of("loss", "perplexity"));
        if (wanted.isEmpty()) return List.of();
        // the template preparation chose (from the training records' layout), so questions are asked as trained
        PromptTemplate template = Templates.byName(templateName, modelDir);
        return EvalExamples.from(Path.of(spec.data().validation()), spec.data().dataFormat(), spec.data().mode(),
                spec.data().mapping(), template, spec.eval().limitOrDefault());
    }

    private Set<Metric> metrics(List<EvalExample> examples) {
        Set<Metric> out = new LinkedHashSet<>();
        for (String id : spec.eval().metrics()) {
            Metric mt = Metric.parse(id);
            if (mt != Metric.LOSS && mt != Metric.PERPLEXITY && examples.isEmpty()) {
                log.println("note: " + id + " needs a validation file with prompts and references; reporting loss only");
                continue;
            }
            out.add(mt);
        }
        out.add(Metric.LOSS);
        out.add(Metric.PERPLEXITY);
        return out;
    }

    private static EvalReport evaluate(LoadedModel m, FineTuneMethod method, EvalOptions eo, List<EvalExample> examples,
                                       BatchSource val, Set<Metric> metrics) {
        Evaluator ev = new Evaluator(m.model(), m.tokenizer(), eo, method);
        if (val == null && examples.isEmpty()) return ev.evaluate(List.of(), Set.of());
        return ev.evaluate(examples, val, metrics);
    }

    private static String json(Object o) throws IOException {
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(o);
    }

    /** Moves the trainer's final/ to its place in the run directory; null when the run left none. */
    static Path keepResult(TrainResult tr, Path result) {
        if (tr.finalDir() == null || !Files.isDirectory(tr.finalDir())) return null;
        try {
            replaceDir(tr.finalDir(), result);
        } catch (IOException e) {
            throw new UncheckedIOException(result + ": " + e.getMessage(), e);
        }
        return result;
    }

    private static void replaceDir(Path from, Path to) throws IOException {
        if (Files.exists(to)) {
            try (var walk = Files.walk(to)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    }
}
