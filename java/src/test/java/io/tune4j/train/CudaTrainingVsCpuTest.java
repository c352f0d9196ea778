package io.tune4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.TrainingContext;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.ops.cuda.CudaOps;
import io.tune4j.peft.AdapterConfig;
import io.tune4j.peft.AdapterMethod;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.FullMethod;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.peft.PeftFiles;
import io.tune4j.peft.PrefixConfig;
import io.tune4j.peft.PrefixMethod;
import io.tune4j.peft.dora.DoraMethod;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.FamilyConfigs;
import io.tune4j.testing.Rand;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What {@code --device cuda} runs, against the CPU: the model resident on the GPU (weights, step buffers,
 * KV cache, PEFT state and moments all allocated by {@link CudaOps}, not staged per op). For every family,
 * the final hidden state at every position, the loss (through the fused LM head), every parameter's
 * gradient and the logits of a cached decode, token by token; for every
 * fine-tuning method, steps of the real {@link Trainer}. No libtorch and no fixtures, so it runs from the
 * packed device folder (scripts/gpu-check.sh). Skips without a GPU.
 *
 * <p>{@code TUNE4J_CUDA_PEER=cpu} in the environment runs the CPU in the GPU's place, to check the harness
 * where no GPU is.
 */
class CudaTrainingVsCpuTest {
    // ArchitectureReferenceTest holds each side's fp32 forward and backward within 1e-5 of float64
    // (norm-wise); two fp32 sides differ by at most the sum.
    static final double TOL = 2e-5;
    // after AdamW steps: its m/sqrt(v) divides out gradient scale, so tiny gradients' roundoff moves
    // their elements by up to lr; norm-wise against the update, not the value
    static final double UPDATE_TOL = 1e-3;
    static final int B = 2, T = 13, STEPS = 4;
    private static Ops gpu;

    @BeforeAll
    static void requireGpu() {
        if ("cpu".equals(System.getenv("TUNE4J_CUDA_PEER"))) {
            gpu = CpuOps.INSTANCE;
            return;
        }
        if (!CudaOps.isAvailable()) {
            String msg = "CUDA tests skipped: no GPU (" + CudaOps.unavailableReason() + ")";
            System.out.println(msg); // scripts/gpu-check.sh fails a run that prints this
            Assumptions.assumeTrue(false, msg);
        }
        gpu = CudaOps.instance();
    }

    static LlamaConfig parse(String name, String json) throws Exception {
        return LlamaConfigReader.parse(Path.of(name + "/config.json"), new ObjectMapper().readTree(json));
    }

    /** The same random weights, in host memory, for each side: a full fine-tune updates its weights in place. */
    static Map<String, Tensor> weights(LlamaConfig cfg, long seed, Arena arena) {
        Map<String, Tensor> w = RandomWeights.create(cfg, seed, 0.2f, arena);
        // norm scales away from 1 (Gemma's are offsets from 1), so that a norm applied to the wrong rows shows
        java.util.Random r = new java.util.Random(seed + 1);
        float one = 1f - cfg.features().extras().normOffset();
        for (Map.Entry<String, Tensor> e : w.entrySet()) {
            if (!e.getKey().endsWith("norm.weight")) continue;
            float[] v = new float[(int) e.getValue().numel()];
            for (int i = 0; i < v.length; i++) v[i] = one + (float) (0.3 * r.nextGaussian());
            e.getValue().floats().put(v);
        }
        return w;
    }

    static Stream<Arguments> families() {
        return FamilyConfigs.all().stream().map(c -> Arguments.of(c[0], c[1]));
    }

    /** One side's forward, backward and cached decode; logits of the decode follow the batch's row 0. */
    private record Pass(double loss, float[] hidden, Map<String, float[]> grads, List<float[]> decodeLogits) {}

    private static Pass pass(Ops ops, LlamaConfig cfg, long seed, int[] ids, int[] targets) {
        try (Arena arena = new Arena(); LlamaModel model = LlamaModel.fromWeights(cfg, weights(cfg, seed, arena), ops)) {
            List<Parameter> params = model.parameters();
            Map<String, float[]> grads = new java.util.LinkedHashMap<>();
            double loss;
            float[] hidden;
            for (Parameter p : params) p.requireGrad(ops);
            try (TrainingContext c = model.newTrainingContext(B, T)) {
                c.setBatch(ids, targets, null, null);
                model.zeroGrad();
                loss = model.forwardBackward(c, 0f).mean();
                hidden = ops.readFloats(c.finalHidden());
                for (Parameter p : params) grads.put(p.name(), ops.readFloats(p.grad()));
            } finally {
                for (Parameter p : params) p.freeze();
            }
            List<float[]> decode = new ArrayList<>();
            try (InferenceContext ic = model.newInferenceContext(1, T, T)) {
                int prefill = 3;
                decode.add(ops.readFloats(model.step(ic, new int[] {0}, new int[][] {java.util.Arrays.copyOf(ids, prefill)},
                        new int[] {0})));
                for (int pos = prefill; pos < T; pos++) {
                    decode.add(ops.readFloats(model.step(ic, new int[] {0}, new int[][] {{ids[pos]}}, new int[] {pos})));
                }
            }
            return new Pass(loss, hidden, grads, decode);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void forwardGradientsAndCachedDecodeMatchTheCpu(String name, String json) throws Exception {
        LlamaConfig cfg = parse(name, json);
        Rand rnd = new Rand();
        String what = name + " " + rnd;
        int V = cfg.vocabSize();
        int[] ids = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rnd.nextInt(V);
            targets[i] = i % 5 == 4 ? -100 : rnd.nextInt(V);
        }
        Pass cpu = pass(CpuOps.INSTANCE, cfg, rnd.seed, ids, targets);
        Pass dev = pass(gpu, cfg, rnd.seed, ids, targets);
        assertEquals(cpu.loss, dev.loss, TOL * Math.abs(cpu.loss), what + " loss");
        close(what + " final hidden", dev.hidden, cpu.hidden, TOL);
        for (Map.Entry<String, float[]> g : cpu.grads.entrySet()) {
            String n = g.getKey();
            if (n.endsWith("k_proj.bias")) {
                // softmax ignores a shift shared by all keys, so k_proj's bias gradient is what RoPE's rotation
                // leaves of a cancelling sum: measured against its weight gradient's scale
                closeScaled(what + " d " + n, dev.grads.get(n), g.getValue(),
                        maxAbs(cpu.grads.get(n.replace(".bias", ".weight"))));
            } else {
                close(what + " d " + n, dev.grads.get(n), g.getValue(), TOL);
            }
        }
        assertEquals(cpu.decodeLogits.size(), dev.decodeLogits.size(), what + " decode steps");
        for (int i = 0; i < cpu.decodeLogits.size(); i++) {
            close(what + " cached logits, step " + i, dev.decodeLogits.get(i), cpu.decodeLogits.get(i), TOL);
        }
    }

    private static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    /** Largest error against a given scale, for a tensor whose own values are a cancelling sum. */
    private static void closeScaled(String what, float[] got, float[] ref, double scale) {
        assertEquals(ref.length, got.length, what + ": size");
        double err = 0;
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Float.isFinite(got[i]), what + ": element " + i + " is " + got[i]);
            err = Math.max(err, Math.abs((double) got[i] - ref[i]));
        }
        assertTrue(scale > 0, what + ": the CPU's weight gradient is all zero");
        assertTrue(err <= TOL * scale, what + ": max error " + err + " against " + scale + " (tolerance " + TOL + ")");
    }

    static Stream<Arguments> methods() {
        String[][] fams = FamilyConfigs.all().stream()
                .filter(c -> c[0].equals("llama") || c[0].startsWith("gemma2") || c[0].startsWith("phi3, window"))
                .toArray(String[][]::new);
        List<Arguments> out = new ArrayList<>();
        for (String[] f : fams) {
            List<Object[]> ms = List.of(
                    new Object[] {"lora", (Function<LlamaConfig, FineTuneMethod>) c ->
                            new LoraMethod(new LoraConfig(4, 8f, 0.1f, PeftFiles.modules(c), false, 3L)), false},
                    new Object[] {"lora, gradient checkpointing", (Function<LlamaConfig, FineTuneMethod>) c ->
                            new LoraMethod(new LoraConfig(4, 8f, 0f, PeftFiles.modules(c), false, 3L)), true},
                    new Object[] {"dora", (Function<LlamaConfig, FineTuneMethod>) c ->
                            new DoraMethod(new LoraConfig(4, 8f, 0.1f, PeftFiles.modules(c), false, 3L)), false},
                    new Object[] {"adapter", (Function<LlamaConfig, FineTuneMethod>) c ->
                            new AdapterMethod(AdapterConfig.defaults()), false},
                    new Object[] {"prefix with projection", (Function<LlamaConfig, FineTuneMethod>) c ->
                            new PrefixMethod(new PrefixConfig(4, true, 16, 1L)), false},
                    new Object[] {"full", (Function<LlamaConfig, FineTuneMethod>) c -> new FullMethod(null), false});
            for (Object[] m : ms) out.add(Arguments.of(f[0] + ", " + m[0], f[0], f[1], m[1], m[2]));
        }
        return out.stream();
    }

    /** One side's training run: its step metrics and its trainable parameters before and after. */
    private record Run(List<StepMetrics> steps, Map<String, float[]> before, Map<String, float[]> after) {}

    private static Run train(Ops ops, LlamaConfig cfg, Function<LlamaConfig, FineTuneMethod> method, boolean checkpointing,
                             Path out) {
        List<StepMetrics> steps = new ArrayList<>();
        Map<String, float[]> before = new java.util.LinkedHashMap<>(), after = new java.util.LinkedHashMap<>();
        TrainConfig tc = TrainConfig.builder().lr(1e-3).warmupSteps(1).schedule(TrainConfig.Schedule.COSINE)
                .maxSteps(STEPS).weightDecay(0.01).maxGradNorm(1.0).seed(7).gradAccumSteps(2)
                .evalEvery(TrainConfig.EVAL_AT_END).checkpointEvery(0).gradientCheckpointing(checkpointing).build();
        try (Arena arena = new Arena();
             LlamaModel model = LlamaModel.fromWeights(cfg, weights(cfg, 11L, arena), ops);
             FineTuneMethod m = method.apply(cfg)) {
            steps.addAll(TrainerRuns.steps(model, m, InMemoryBatchSource.random(cfg.vocabSize(), 4096, 2, 16, 5L), tc, out));
            for (Parameter p : m.trainableParameters()) after.put(p.name(), ops.readFloats(p.value()));
        }
        // the starting values, from a method attached to a fresh model with the same seeds
        try (Arena arena = new Arena();
             LlamaModel model = LlamaModel.fromWeights(cfg, weights(cfg, 11L, arena), CpuOps.INSTANCE);
             FineTuneMethod m = method.apply(cfg)) {
            m.attach(model);
            for (Parameter p : m.trainableParameters()) before.put(p.name(), p.value().toFloatArray());
        }
        return new Run(steps, before, after);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void trainingStepsMatchTheCpu(String name, String family, String json,
                                  Function<LlamaConfig, FineTuneMethod> method, boolean checkpointing,
                                  @TempDir Path out) throws Exception {
        LlamaConfig cfg = parse(family, json);
        Run cpu = train(CpuOps.INSTANCE, cfg, method, checkpointing, out.resolve("cpu"));
        Run dev = train(gpu, cfg, method, checkpointing, out.resolve("gpu"));
        assertEquals(STEPS, cpu.steps.size(), name + ": steps");
        assertEquals(STEPS, dev.steps.size(), name + ": steps on the GPU");
        for (int s = 0; s < STEPS; s++) {
            StepMetrics a = cpu.steps.get(s), b = dev.steps.get(s);
            // the first step's loss comes before any update: the forward alone
            double lossTol = s == 0 ? TOL : UPDATE_TOL;
            assertEquals(a.loss(), b.loss(), lossTol * Math.abs(a.loss()), name + ": loss of step " + (s + 1));
            assertEquals(a.gradNorm(), b.gradNorm(), (s == 0 ? TOL : UPDATE_TOL) * a.gradNorm(),
                    name + ": gradient norm of step " + (s + 1));
        }
        assertEquals(cpu.after.keySet(), dev.after.keySet(), name + ": trainable parameters");
        assertEquals(cpu.after.keySet(), cpu.before.keySet(), name + ": starting values of every trainable parameter");
        for (Map.Entry<String, float[]> e : cpu.after.entrySet()) {
            float[] start = cpu.before.get(e.getKey());
            closeUpdate(name + " " + e.getKey(), dev.after.get(e.getKey()), e.getValue(), start);
        }
    }

    /** Norm-wise relative error, ||got - ref|| / ||ref||. */
    private static void close(String what, float[] got, float[] ref, double tol) {
        assertEquals(ref.length, got.length, what + ": size");
        double err = 0, norm = 0;
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Float.isFinite(got[i]), what + ": element " + i + " is " + got[i]);
            err += ((double) got[i] - ref[i]) * ((double) got[i] - ref[i]);
            norm += (double) ref[i] * ref[i];
        }
        assertTrue(norm > 0 || err == 0, what + ": the CPU's values are all zero");
        double rel = norm == 0 ? 0 : Math.sqrt(err / norm);
        assertTrue(rel <= tol, what + ": relative error " + rel + " against the CPU (tolerance " + tol + ")");
    }

    /** The GPU's update of a parameter against the CPU's, ||got - ref|| / ||ref - start||. */
    private static void closeUpdate(String what, float[] got, float[] ref, float[] start) {
        assertEquals(ref.length, got.length, what + ": size");
        double err = 0, moved = 0;
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Float.isFinite(got[i]), what + ": element " + i + " is " + got[i]);
            err += ((double) got[i] - ref[i]) * ((double) got[i] - ref[i]);
            double d = (double) ref[i] - start[i];
            moved += d * d;
        }
        assertTrue(moved > 0, what + ": training did not move it on the CPU");
        double rel = Math.sqrt(err / moved);
        assertTrue(rel <= UPDATE_TOL, what + ": update differs from the CPU's by " + rel + " of its size (tolerance "
                + UPDATE_TOL + ")");
    }
}
