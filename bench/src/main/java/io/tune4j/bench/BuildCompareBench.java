package io.tune4j.bench;

import io.tune4j.data.TokenizedExample;
import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.TrainingContext;
import io.tune4j.ops.MatmulPrecision;
import io.tune4j.ops.RopeScaling;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.FullMethod;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.train.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * tune4j alone, build against build: the LoRA training step, the full fine-tuning step and single-stream
 * greedy decode, each at SmolLM2-135M and stories15M shape. {@code bench/compare-builds.sh} copies this
 * one file into the worktree of each commit it compares and builds it there against that commit's own
 * tune4j-core and native library, so both builds run the same harness. It therefore uses only API that
 * the compared commits share (the calls of TrainStep and TunedDecoder as of 424c3d0) and nothing else of
 * this module. Not in BenchMain's table.
 *
 * <p>The same work as the BenchMain rows: 4x256-token batches, LoRA r=16 alpha 32 on all 7 projections,
 * AdamW lr 1e-4, random weights std 0.02 seed 5 for training; std 0.05 seed 15, a 16-token prompt and
 * 128 greedy tokens for decoding (one operation = one token, prefill amortised).
 */
public class BuildCompareBench {
    static final int BATCH = 4, SEQ = 256, RANK = 16, PROMPT_TOKENS = 16;
    static final int NEW_TOKENS = 128;
    static final List<String> MODULES = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
            "down_proj");

    static LlamaConfig config(String shape) {
        return switch (shape) {
            case "smollm2-135m" -> new LlamaConfig(49152, 576, 1536, 30, 9, 3, 64, 8192, 1e-5f,
                    RopeScaling.none(100000f), true, 1, new int[] {2}, "silu", false, false);
            case "stories15m" -> new LlamaConfig(32000, 288, 768, 6, 6, 6, 48, 256, 1e-5f,
                    RopeScaling.none(10000f), true, 1, new int[] {2}, "silu", false, false);
            default -> throw new IllegalArgumentException("shape must be smollm2-135m or stories15m, got " + shape);
        };
    }

    static int threads() {
        return Integer.getInteger("bench.threads", Runtime.getRuntime().availableProcessors());
    }

    static int[] ints(long seed, int n, int bound) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = rng.nextInt(bound);
        return out;
    }

    /** Prints, once a fork, which libtune4j_native.so this JVM mapped: the script checks it is the worktree's. */
    static void reportNativeLibrary() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int i = line.indexOf('/');
                if (i >= 0 && line.endsWith("libtune4j_native.so")) {
                    System.out.println("t4j-native-library: " + line.substring(i));
                    return;
                }
            }
            System.out.println("t4j-native-library: (not mapped)");
        } catch (IOException e) {
            System.out.println("t4j-native-library: (unreadable: " + e + ")");
        }
    }

    /** One optimiser step, as TrainStep.Ours. */
    static final class Step implements AutoCloseable {
        final Arena arena = new Arena();
        final LlamaModel model;
        final FineTuneMethod method;
        final AdamW optimizer;
        final TrainingContext ctx;

        Step(LlamaConfig cfg, boolean lora) {
            NativeLib.t4j_set_num_threads(threads());
            CpuOps.INSTANCE.setMatmulPrecision(MatmulPrecision.parse(System.getProperty("bench.precision", "fp32")));
            Map<String, Tensor> w = RandomWeights.create(cfg, 5, 0.02f, arena);
            model = LlamaModel.fromWeights(cfg, w, CpuOps.INSTANCE);
            method = lora ? new LoraMethod(new LoraConfig(RANK, 32f, 0f, MODULES, false, 3)) : new FullMethod(null);
            method.attach(model);
            optimizer = new AdamW(CpuOps.INSTANCE, method.trainableParameters(), 0.9f, 0.999f, 1e-8f, 0f, p -> false);
            ctx = model.newTrainingContext(BATCH, SEQ);
            int[] ids = ints(11, BATCH * SEQ, cfg.vocabSize());
            int[] targets = new int[ids.length];
            for (int i = 0; i < ids.length; i++) targets[i] = (i % SEQ == SEQ - 1) ? TokenizedExample.IGNORE : ids[i + 1];
            ctx.setBatch(ids, targets, null, null);
            reportNativeLibrary();
        }

        double step() {
            method.beforeForward();
            LlamaModel.Loss loss = model.forwardBackward(ctx, 0f);
            method.afterBackward();
            optimizer.step(1e-4f);
            optimizer.zeroGrad();
            return loss.mean();
        }

        @Override
        public void close() {
            ctx.close();
            optimizer.close();
            method.close();
            model.close();
            arena.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Lora {
        @Param({"smollm2-135m", "stories15m"})
        public String shape;
        Step s;

        @Setup(Level.Trial)
        public void setUp() {
            s = new Step(config(shape), true);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            s.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Full {
        @Param({"smollm2-135m", "stories15m"})
        public String shape;
        Step s;

        @Setup(Level.Trial)
        public void setUp() {
            s = new Step(config(shape), false);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            s.close();
        }
    }

    /** Greedy decode on LlamaModel.step with argmax, as TunedDecoder (fp32 weights). */
    @State(Scope.Thread)
    public static class Decode {
        @Param({"smollm2-135m", "stories15m"})
        public String shape;
        Arena weights;
        LlamaModel model;
        InferenceContext ctx;
        int[] prompt;
        int vocab;

        @Setup(Level.Trial)
        public void setUp() {
            NativeLib.t4j_set_num_threads(threads());
            LlamaConfig cfg = config(shape);
            weights = new Arena();
            model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, 15, 0.05f, weights), CpuOps.INSTANCE);
            ctx = model.newInferenceContext(1, Math.min(cfg.maxPositions(), 256), PROMPT_TOKENS);
            vocab = cfg.vocabSize();
            prompt = ints(16, PROMPT_TOKENS, vocab);
            prompt[0] = cfg.bosTokenId();
            reportNativeLibrary();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            ctx.close();
            model.close();
            weights.close();
        }

        // Builds since ac878eb take argmax's size from the tensor, builds before it as an int: this harness
        // compares across that change, so it finds whichever the build has, once.
        static final java.lang.invoke.MethodHandle ARGMAX = argmaxHandle();

        static java.lang.invoke.MethodHandle argmaxHandle() {
            var lookup = java.lang.invoke.MethodHandles.publicLookup();
            try {
                return lookup.findVirtual(CpuOps.class, "argmax", java.lang.invoke.MethodType.methodType(int.class,
                        Tensor.class)).bindTo(CpuOps.INSTANCE);
            } catch (ReflectiveOperationException e) {
                try {
                    return lookup.findVirtual(CpuOps.class, "argmax", java.lang.invoke.MethodType.methodType(int.class,
                            Tensor.class, int.class)).bindTo(CpuOps.INSTANCE);
                } catch (ReflectiveOperationException e2) {
                    throw new IllegalStateException("this build's CpuOps has no argmax the harness knows", e2);
                }
            }
        }

        static int argmax(Tensor logits, int n) {
            try {
                return ARGMAX.type().parameterCount() == 1 ? (int) ARGMAX.invokeExact(logits)
                        : (int) ARGMAX.invokeExact(logits, n);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        int[] greedy() {
            int[] slot = {0};
            int[] out = new int[NEW_TOKENS];
            Tensor logits = model.step(ctx, slot, new int[][] {prompt}, new int[] {0});
            for (int i = 0; i < NEW_TOKENS; i++) {
                out[i] = argmax(logits, vocab);
                if (i + 1 < NEW_TOKENS) {
                    logits = model.step(ctx, slot, new int[][] {{out[i]}}, new int[] {PROMPT_TOKENS + i});
                }
            }
            return out;
        }
    }

    @Benchmark
    public double loraStep(Lora s) {
        return s.s.step();
    }

    @Benchmark
    public double fullStep(Full s) {
        return s.s.step();
    }

    @Benchmark
    @OperationsPerInvocation(NEW_TOKENS)
    public int[] decode(Decode s) {
        return s.greedy();
    }
}
