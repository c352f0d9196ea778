package io.tune4j.bench;

import io.tune4j.ops.MatmulPrecision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs every benchmark pair (tune4j and libtorch, each in its own forked JVM so neither
 * library's thread pool competes with the other's) and prints one table of medians, ratios and
 * targets; the same table goes to a markdown file with the machine and commit it was measured on.
 *
 * <p>System properties: bench.include (regex over benchmark class names, default all),
 * bench.threads (intra-op threads, default all cores), bench.warmup / bench.iterations (count),
 * bench.time (seconds per iteration), bench.out (markdown path),
 * bench.skipCheck (skip the decode token check), bench.precision (fp32 or bf16 matrix products on both sides),
 * bench.weights (bf16: tune4j decodes from bf16 copies of its weights).
 */
public final class BenchMain {
    private BenchMain() {}

    /** One row of the table: a benchmark class, what it measures and the speed-up it must reach. */
    record Entry(Class<?> bench, String label, String shape, double target) {
        String name() {
            return bench.getSimpleName();
        }
    }

    static final List<Entry> ENTRIES = List.of(
            new Entry(LinearBench.class, "linear", "1024x576 -> 1536, fwd+bwd (dx, dW)", 1.0),
            new Entry(LoraBench.class, "fused LoRA linear", "1024x576 -> 576, r=16, W frozen, fwd+bwd (dx, dA, dB)", 1.5),
            new Entry(RmsNormBench.class, "RMSNorm", "1024x576, fwd+bwd (dx, dw)", 1.0),
            new Entry(RopeBench.class, "RoPE", "1024x9x64, fwd+bwd", 1.0),
            new Entry(AttentionBench.class, "causal GQA attention", "B=4 T=256 9/3 heads hd=64, fwd+bwd", 1.0),
            new Entry(SwiGluBench.class, "SwiGLU", "1024x1536, fwd+bwd", 1.0),
            new Entry(EmbeddingBench.class, "embedding", "1024 ids, 49152x576, fwd+bwd (dTable)", 1.0),
            new Entry(ResidualBench.class, "residual add", "1024x576, fwd+bwd", 1.0),
            new Entry(CrossEntropyBench.class, "LM head + cross-entropy", "1024x576 -> 49152, fwd+bwd (dh, dW)", 1.0),
            new Entry(AdamWBench.class, "AdamW step", AdamWBench.totalParameters() + " params (one SmolLM2 layer)", 1.0),
            new Entry(DecodeBench.class, "greedy decode", "stories15M shape, 16-token prompt + "
                    + Stories15M.NEW_TOKENS + " tokens", 3.0),
            new Entry(LoraTrainStepBench.class, "LoRA training step", "SmolLM2-135M shape, 4x256 tokens, r=16 on all "
                    + "7 projections, fwd+bwd+AdamW", 2.0),
            new Entry(FullTrainStepBench.class, "full fine-tuning step", "SmolLM2-135M shape, 4x256 tokens, "
                    + "fwd+bwd+AdamW on all weights", 1.3),
            new Entry(Qwen25LoraTrainStepBench.class, "LoRA training step", "Qwen2.5-0.5B shape (q/k/v biases, tied "
                    + "151936 head), 4x256 tokens, r=16 on all 7 projections, fwd+bwd+AdamW", 2.0),
            new Entry(Qwen25DecodeBench.class, "greedy decode", "Qwen2.5-0.5B shape, 16-token prompt + "
                    + Qwen25.NEW_TOKENS + " tokens", 1.0));

    /** Rows whose score is a rate (tokens/s): one operation is one generated token. */
    static boolean isDecode(Class<?> bench) {
        return bench == DecodeBench.class || bench == Qwen25DecodeBench.class;
    }

    public static void main(String[] args) throws Exception {
        int threads = Env.threads();
        int warmup = Integer.getInteger("bench.warmup", 3);
        int iterations = Integer.getInteger("bench.iterations", 5);
        double seconds = Double.parseDouble(System.getProperty("bench.time", "1"));
        Pattern include = Pattern.compile(System.getProperty("bench.include", ".*"));
        Path out = Path.of(System.getProperty("bench.out",
                Files.exists(Path.of("bench", "pom.xml")) ? "bench/target/results.md" : "target/results.md"));

        List<Entry> selected = new ArrayList<>();
        for (Entry e : ENTRIES) if (include.matcher(e.name()).find()) selected.add(e);
        if (selected.isEmpty()) {
            System.err.println("bench.include='" + include + "' matches none of " + ENTRIES.stream().map(Entry::name).toList());
            System.exit(2);
        }

        String decodeCheck = null;
        if (selected.stream().anyMatch(e -> e.bench() == DecodeBench.class) && !Boolean.getBoolean("bench.skipCheck")) {
            decodeCheck = DecodeBench.check();
            System.out.println("decode check: " + decodeCheck);
        }
        if (selected.stream().anyMatch(e -> e.bench() == Qwen25DecodeBench.class) && !Boolean.getBoolean("bench.skipCheck")) {
            String q = "Qwen2.5-0.5B " + Qwen25DecodeBench.check();
            System.out.println("decode check: " + q);
            decodeCheck = decodeCheck == null ? q : decodeCheck + "; " + q;
        }

        // peak-memory files come from this run's forks only
        Path memDir = out.toAbsolutePath().getParent().resolve("mem");
        if (Files.isDirectory(memDir)) {
            try (var files = Files.list(memDir)) {
                for (Path f : (Iterable<Path>) files::iterator) Files.deleteIfExists(f);
            }
        }

        TimeValue iterationTime = TimeValue.milliseconds(Math.max(1, Math.round(seconds * 1000)));
        ChainedOptionsBuilder opts = new OptionsBuilder()
                .forks(1)
                .threads(1)
                .mode(Mode.SampleTime)
                .timeUnit(TimeUnit.MILLISECONDS)
                .warmupIterations(warmup)
                .warmupTime(iterationTime)
                .measurementIterations(iterations)
                .measurementTime(iterationTime)
                .shouldFailOnError(false)
                .jvmArgsAppend(forkArgs(threads, out.toAbsolutePath().getParent().resolve("mem"), Env.precision()));
        for (Entry e : selected) opts.include(Pattern.quote(e.bench().getName()) + "\\.");
        Map<String, Double> medians = medians(new Runner(opts.build()).run());
        Map<String, Double> fp32Peer = null;
        if (Env.bf16()) {
            // libtorch's bf16 CPU path is not always its fastest: its own fp32 is the other peer to beat
            ChainedOptionsBuilder peer = opts.jvmArgsAppend(forkArgs(threads,
                    out.toAbsolutePath().getParent().resolve("mem-fp32"), MatmulPrecision.FP32));
            peer.exclude(".*\\.tune4j$");
            fp32Peer = medians(new Runner(peer.build()).run());
        }
        List<String[]> rows = new ArrayList<>();
        for (Entry e : selected) rows.add(row(e, medians, fp32Peer));

        String settings = String.format(Locale.ROOT,
                "JMH: 1 fork per benchmark, %d warmup + %d measured iterations of %.1f s, sample-time mode; "
                        + "scores are medians of per-call times; intra-op threads: %d (tune4j and torch.set_num_threads); "
                        + "matrix products: %s",
                warmup, iterations, seconds, threads, Env.bf16()
                        ? "bf16 operands, fp32 sums on both sides (tune4j " + io.tune4j.ops.cpu.CpuOps.bf16Unit()
                                + "; libtorch bf16 tensors through oneDNN)"
                        : "fp32")
                + (Env.bf16Weights() ? "; tune4j decodes from bf16 weights (" + io.tune4j.ops.cpu.CpuOps.bf16WeightsUnit() + ")" : "");
        String[] memory = memoryRow(out.toAbsolutePath().getParent().resolve("mem"));
        if (memory != null) rows.add(memory);
        String table = table(rows);
        System.out.println();
        System.out.println(settings);
        if (decodeCheck != null) System.out.println("decode check: " + decodeCheck);
        System.out.println(table);
        writeMarkdown(out, machine(threads), settings, decodeCheck, table);
        System.out.println("written to " + out.toAbsolutePath());
    }

    /** Forks see the same thread count; -Xss as in the core tests, heap for the 49152x576 inputs built on it. */
    private static String[] forkArgs(int threads, Path memDir, MatmulPrecision precision) {
        return new String[] {"-Dbench.threads=" + threads, "-Dbench.precision=" + precision.id(),
                "-Dbench.weights=" + (Env.bf16Weights() ? "bf16" : "fp32"), "-Xss4m", "-Xmx4g",
                "-Dbench.memDir=" + memDir};
    }

    private static Map<String, Double> medians(Collection<RunResult> results) {
        Map<String, Double> m = new HashMap<>();
        for (RunResult r : results) m.put(r.getParams().getBenchmark(), r.getPrimaryResult().getStatistics().getPercentile(50));
        return m;
    }

    /**
     * Peak resident memory of the LoRA step over the full fine-tuning step, each measured in its own
     * forked JVM (lower is better; target <= 0.6). Null when the training steps did not both run.
     */
    private static String[] memoryRow(Path memDir) {
        try {
            Path lora = memDir.resolve("LoraTrainStepBench.tune4j.txt"), full = memDir.resolve("FullTrainStepBench.tune4j.txt");
            if (!Files.exists(lora) || !Files.exists(full)) return null;
            double l = Long.parseLong(Files.readString(lora).trim()), f = Long.parseLong(Files.readString(full).trim());
            double r = l / f;
            return new String[] {"peak RSS, LoRA / full (tune4j)", "the two training steps above",
                    String.format(Locale.ROOT, "%.0f MiB (LoRA)", l / (1 << 20)),
                    String.format(Locale.ROOT, "%.0f MiB (full)", f / (1 << 20)),
                    String.format(Locale.ROOT, "%.2f", r), "<= 0.60", r <= 0.6 ? "PASS" : "MISS"};
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    /**
     * One table row. With fp32Peer (bf16 runs) the libtorch cell shows its bf16 and fp32 times and the
     * ratio is taken against the faster of the two.
     */
    private static String[] row(Entry e, Map<String, Double> medians, Map<String, Double> fp32Peer) {
        Double ours = medians.get(e.bench().getName() + ".tune4j");
        Double theirs = medians.get(e.bench().getName() + ".libtorch");
        Double theirs32 = fp32Peer == null ? null : fp32Peer.get(e.bench().getName() + ".libtorch");
        boolean decode = isDecode(e.bench());
        // decode scores are rates (higher is better) in score(); times otherwise
        Double best = theirs == null ? theirs32 : theirs32 == null ? theirs : Double.valueOf(Math.min(theirs, theirs32));
        String ratio = "n/a", status = "ERROR";
        if (ours != null && best != null && ours > 0) {
            double r = best / ours;
            ratio = String.format(Locale.ROOT, "%.2fx", r);
            status = r >= e.target() ? "PASS" : "MISS";
        }
        String peer = fp32Peer == null ? score(theirs, decode)
                : "bf16 " + score(theirs, decode) + " / fp32 " + score(theirs32, decode);
        return new String[] {e.label(), e.shape(), score(ours, decode), peer, ratio,
                String.format(Locale.ROOT, ">= %.1fx", e.target()), status};
    }

    private static String score(Double ms, boolean decode) {
        if (ms == null) return "failed";
        if (decode) return String.format(Locale.ROOT, "%.1f tok/s (%.3f ms/tok)", 1000.0 / ms, ms);
        return String.format(Locale.ROOT, "%.3f ms", ms);
    }

    private static final String[] HEADER = {"benchmark", "shape", "tune4j (median)", "libtorch (median)",
            "ratio (libtorch/tune4j)", "target", "status"};

    static String table(List<String[]> rows) {
        return MarkdownTable.render(HEADER, rows);
    }

    static Map<String, String> machine(int threads) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("date", Machine.now());
        m.put("commit", Machine.gitCommit());
        m.put("CPU", Machine.cpuModel());
        m.put("cores (logical)", Integer.toString(Machine.cores()));
        m.put("intra-op threads", Integer.toString(threads));
        m.put("JDK", Machine.jdk());
        m.put("OS", Machine.os());
        String torchVersion = org.bytedeco.pytorch.Tensor.class.getPackage().getImplementationVersion();
        m.put("libtorch", "Bytedeco PyTorch preset " + (torchVersion == null ? "(version not in manifest)" : torchVersion)
                + ", float32, CPU");
        m.put("libtorch attention", AttentionBench.TORCH_IMPL);
        return m;
    }

    private static void writeMarkdown(Path out, Map<String, String> machine, String settings, String decodeCheck,
                                      String table) throws IOException {
        StringBuilder md = new StringBuilder("# tune4j vs libtorch\n\n");
        for (Map.Entry<String, String> e : machine.entrySet()) {
            md.append("- ").append(e.getKey()).append(": ").append(e.getValue()).append('\n');
        }
        md.append("- ").append(settings).append('\n');
        if (decodeCheck != null) md.append("- decode check: ").append(decodeCheck).append('\n');
        md.append('\n').append(table);
        md.append("\nratio = libtorch median / tune4j median (> 1: tune4j is faster); status compares it with the target.\n");
        Machine.writeAtomically(out, md.toString());
    }
}
