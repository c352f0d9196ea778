package io.tune4j.finetune;

import io.tune4j.eval.BeforeAfterReport;
import io.tune4j.eval.EvalReport;
import io.tune4j.generate.GenerationConfig;
import io.tune4j.generate.Generator;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.SamplingParams;
import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.train.TrainConfig;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The product's main job on the fixtures, end to end: instruction-tune stories260K with LoRA on
 * SST-2 sentiment (dev accuracy before/after against the majority class), then adapt it to
 * Shakespeare with full fine-tuning, bottleneck adapters and prefix tuning (validation perplexity
 * before/after), and generate from the tuned model.
 */
public final class Demo {
    /** One line of the final table. */
    public record Row(String task, String method, String metric, double before, double after, double baseline,
                      double seconds, Path result) {}

    private final Path fixtures;
    private final Path out;
    private final PrintStream log;
    private final int scale; // percent of the default step counts (tests run a short version)
    private final Ops ops;

    public Demo(Path fixtures, Path out, PrintStream log, int scalePercent) {
        this(fixtures, out, log, scalePercent, CpuOps.INSTANCE);
    }

    public Demo(Path fixtures, Path out, PrintStream log, int scalePercent, Ops ops) {
        this.fixtures = fixtures;
        this.out = out;
        this.log = log;
        this.scale = scalePercent;
        this.ops = ops;
    }

    private int steps(int n) {
        return Math.max(2, n * scale / 100);
    }

    private Path fixture(String rel) {
        Path p = fixtures.resolve(rel);
        if (!Files.exists(p)) {
            throw new IllegalArgumentException(p + ": fixture missing (set TUNE4J_FIXTURES or pass --fixtures)");
        }
        return p;
    }

    public List<Row> run() {
        List<Row> rows = new ArrayList<>();
        rows.add(sentiment());
        rows.addAll(shakespeare());
        return rows;
    }

    /** LoRA instruction tuning on SST-2: accuracy before and after, against the majority class. */
    public Row sentiment() {
        String model = fixture("models/stories260K-hf").toString();

        // (1) sentiment as instruction tuning: "Review sentiment\n\n<review>\n" -> "good" / "bad" (words
        // the TinyStories vocabulary knows well; "positive"/"negative" split into five byte-level pieces).
        // stories260K never trained its EOS row (llama2.c separates stories with BOS), and LoRA cannot
        // move it, so the EOS after the label carries no loss here.
        DataSpec sst = new DataSpec(fixture("data/sst2/train.tsv").toString(), fixture("data/sst2/dev.tsv").toString(),
                null, "none", null, null, "label", null, Map.of("0", "bad", "1", "good"), "Review sentiment",
                128, null, null, null, null, true, false, null);
        MethodSpec lora = new MethodSpec("lora", Map.of("r", 16, "alpha", 32f, "dropout", 0f, "targetModules",
                List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")));
        // a prompted review is ~50 tokens: packed about 2.5 to a 128-token row (attention kept within each
        // review), so 400 steps of 32 rows see ~32k of the 52k training reviews, each once
        TrainConfig sstTrain = TrainConfig.builder().lr(3e-3).warmupSteps(20).maxSteps(steps(400)).batchSize(32)
                .schedule(TrainConfig.Schedule.COSINE).seed(42).evalEvery(TrainConfig.EVAL_AT_END).build();
        return run("SST-2 sentiment", new FineTuneSpec(model, null, sst, lora, sstTrain,
                new EvalSpec(List.of("loss", "accuracy"), 1000, null), out.resolve("sst2-lora").toString()), "accuracy");
    }

    /** Full fine-tuning, bottleneck adapters and prefix tuning on Shakespeare: perplexity before and after. */
    public List<Row> shakespeare() {
        String model = fixture("models/stories260K-hf").toString();
        List<Row> rows = new ArrayList<>();

        // (2) domain adaptation on Shakespeare: one document cut into 128-token chunks, 10% held out
        DataSpec shakespeare = new DataSpec(fixture("data/shakespeare/input.txt").toString(), null, 0.1, "none", null,
                "whole-file", "text", null, null, null, 128, null, null, null, null, null, null, null);
        for (String m : List.of("full", "adapter", "prefix")) {
            double lr = m.equals("full") ? 2e-3 : m.equals("adapter") ? 5e-3 : 1e-2;
            TrainConfig tc = TrainConfig.builder().lr(lr).warmupSteps(10).maxSteps(steps(200)).batchSize(16).seed(42)
                    .evalEvery(TrainConfig.EVAL_AT_END).build();
            rows.add(run("Shakespeare", new FineTuneSpec(model, null, shakespeare, MethodSpec.of(m), tc,
                    new EvalSpec(List.of("loss", "perplexity"), 200, null), out.resolve("shakespeare-" + m).toString()),
                    "perplexity"));
        }
        return rows;
    }

    private Row run(String task, FineTuneSpec spec, String metric) {
        log.println();
        log.println("== " + task + ": " + spec.method().type() + " -> " + spec.out());
        long t0 = System.nanoTime();
        FineTuneResult r = new FineTuneRun(spec, log).backend(ops).progress(false).run();
        double s = (System.nanoTime() - t0) / 1e9;
        BeforeAfterReport e = r.evaluation();
        return new Row(task, spec.method().type(), metric, value(e.before(), metric), value(e.after(), metric),
                e.after().majorityBaseline() == null ? Double.NaN : e.after().majorityBaseline(), s, r.resultDir());
    }

    private static double value(EvalReport r, String metric) {
        Double v = metric.equals("accuracy") ? r.accuracy() : r.perplexity();
        return v == null ? Double.NaN : v;
    }

    /** Continues a prompt with the fully fine-tuned Shakespeare model. */
    public String sample(Path modelDir, String prompt, int tokens) {
        try (LoadedModel m = LoadedModel.load(modelDir, null, ops);
             Generator g = new Generator(m.model(), m.tokenizer(), 1)) {
            return g.generate(prompt, new GenerationConfig(tokens, new SamplingParams(0.8f, 40, 0.95f, 1.1f), 7, List.of(),
                    true), null).text();
        }
    }

    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-16s %-8s %-11s %10s %10s %10s %8s%n", "task", "method", "metric", "before",
                "after", "baseline", "seconds"));
        for (Row r : rows) {
            boolean acc = r.metric().equals("accuracy");
            sb.append(String.format(Locale.ROOT, "%-16s %-8s %-11s %10s %10s %10s %8.1f%n", r.task(), r.method(), r.metric(),
                    fmt(r.before(), acc), fmt(r.after(), acc), Double.isNaN(r.baseline()) ? "-" : fmt(r.baseline(), acc),
                    r.seconds()));
        }
        return sb.toString();
    }

    private static String fmt(double v, boolean percent) {
        if (Double.isNaN(v)) return "-";
        return percent ? String.format(Locale.ROOT, "%.1f%%", 100 * v) : String.format(Locale.ROOT, "%.2f", v);
    }
}
