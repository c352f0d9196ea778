package io.tune4j.bench;

import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaModel;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.LoraBank;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.Arena;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * One decode step of a batch of 8 sequences on a stories15M-shaped model (random weights) served
 * through a {@link LoraBank} holding 8 LoRA adapters (r=16 on q, k, v, o): every row on the same
 * adapter, every row on its own adapter, and every row on the base model. Serving different
 * adapters in one batch should cost little more than serving one: the target is
 * eightAdapters / oneAdapter &lt;= 1.3. {@link #main} runs the three in one JMH run and prints the
 * ratios; it is not part of BenchMain's tune4j-vs-libtorch table because its peer is itself.
 */
public class MultiLoraDecodeBench {
    static final int BATCH = 8;
    static final int RANK = 16;
    static final int PROMPT = Stories15M.PROMPT_TOKENS;
    /** Decode positions cycle through [PROMPT, WRAP): the cache is reused, the cost per step stays level. */
    static final int WRAP = 128;

    @State(Scope.Thread)
    public static class Served {
        Arena weights;
        LlamaModel model;
        LoraBank bank;
        InferenceContext ctx;
        Path dir;
        final int[] slots = new int[BATCH];
        final int[][] tokens = new int[BATCH][1];
        final int[] start = new int[BATCH];
        final int[] base = new int[BATCH];
        final int[] one = new int[BATCH];
        final int[] eight = new int[BATCH];
        int pos = PROMPT;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            NativeLib.t4j_set_num_threads(Env.threads());
            weights = new Arena();
            model = LlamaModel.fromWeights(Stories15M.CONFIG, Stories15M.weights(weights), CpuOps.INSTANCE);
            dir = Files.createTempDirectory("tune4j-multilora-bench");
            for (int a = 0; a < BATCH; a++) saveAdapter(model, dir.resolve("a" + a), 100 + a);
            bank = new LoraBank(model, BATCH);
            for (int a = 0; a < BATCH; a++) eight[a] = bank.load("a" + a, dir.resolve("a" + a));
            java.util.Arrays.fill(one, eight[0]);
            java.util.Arrays.fill(base, -1);
            ctx = model.newInferenceContext(BATCH, Stories15M.CONFIG.maxPositions(), BATCH * PROMPT);
            int[][] prompts = new int[BATCH][];
            for (int i = 0; i < BATCH; i++) {
                slots[i] = i;
                prompts[i] = Stories15M.prompt();
                prompts[i][1] = i; // distinct sequences
            }
            model.step(ctx, slots, prompts, new int[BATCH], eight);
        }

        /** One decode step of all 8 sequences with the given row adapters. */
        float step(int[] adapters) {
            for (int i = 0; i < BATCH; i++) {
                tokens[i][0] = (pos * 31 + i * 7) % Stories15M.CONFIG.vocabSize();
                start[i] = pos;
            }
            pos = pos + 1 >= WRAP ? PROMPT : pos + 1;
            return model.step(ctx, slots, tokens, start, adapters).get(0);
        }

        @TearDown(Level.Trial)
        public void release() throws IOException {
            ctx.close();
            bank.close();
            model.close();
            weights.close();
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** A PEFT-layout LoRA adapter with random non-zero A and B on q, k, v, o. */
    public static void saveAdapter(LlamaModel model, Path dir, long seed) {
        try (LoraMethod m = new LoraMethod(new LoraConfig(RANK, 32f, 0f, LoraConfig.ATTENTION, false, seed))) {
            m.attach(model);
            SplittableRandom rng = new SplittableRandom(seed);
            for (LoraMethod.Site s : m.sites()) {
                FloatBuffer b = s.projection().loraB().value().floats();
                for (int i = 0; i < b.capacity(); i++) b.put(i, (float) ((rng.nextDouble() - 0.5) * 0.02));
            }
            Files.createDirectories(dir);
            m.save(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Benchmark
    public float baseModel(Served s) {
        return s.step(s.base);
    }

    @Benchmark
    public float oneAdapter(Served s) {
        return s.step(s.one);
    }

    @Benchmark
    public float eightAdapters(Served s) {
        return s.step(s.eight);
    }

    public static void main(String[] args) throws Exception {
        int warmup = Integer.getInteger("bench.warmup", 3);
        int iterations = Integer.getInteger("bench.iterations", 5);
        double seconds = Double.parseDouble(System.getProperty("bench.time", "1"));
        TimeValue t = TimeValue.milliseconds(Math.max(1, Math.round(seconds * 1000)));
        Collection<RunResult> results = new Runner(new OptionsBuilder()
                .include(java.util.regex.Pattern.quote(MultiLoraDecodeBench.class.getName()) + "\\.")
                .forks(1).threads(1).mode(Mode.SampleTime).timeUnit(TimeUnit.MILLISECONDS)
                .warmupIterations(warmup).warmupTime(t).measurementIterations(iterations).measurementTime(t)
                .jvmArgsAppend("-Dbench.threads=" + Env.threads(), "-Xss4m")
                .build()).run();
        Map<String, Double> median = new HashMap<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            median.put(name.substring(name.lastIndexOf('.') + 1), r.getPrimaryResult().getStatistics().getPercentile(50));
        }
        double base = median.get("baseModel"), one = median.get("oneAdapter"), eight = median.get("eightAdapters");
        System.out.println();
        System.out.printf(Locale.ROOT, "decode step, batch of %d, stories15M shape, LoRA r=%d on q,k,v,o; medians; %d threads%n",
                BATCH, RANK, Env.threads());
        System.out.printf(Locale.ROOT, "  base model (no adapter)      %.3f ms%n", base);
        System.out.printf(Locale.ROOT, "  (a) all rows on one adapter  %.3f ms  (%.2fx base)%n", one, one / base);
        System.out.printf(Locale.ROOT, "  (b) 8 different adapters     %.3f ms  (%.2fx base)%n", eight, eight / base);
        System.out.printf(Locale.ROOT, "  ratio (b)/(a) = %.3f (target <= 1.3): %s%n", eight / one, eight / one <= 1.3 ? "PASS" : "MISS");
    }
}
