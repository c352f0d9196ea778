package io.tune4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.TrainingContext;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.ops.MatmulPrecision;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.peft.PeftFiles;
import io.tune4j.peft.dora.DoraMethod;
import io.tune4j.tensor.Arena;
import io.tune4j.testing.FamilyConfigs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code finetune --precision bf16} on every family, against the same work in fp32: the loss and every
 * trainable gradient of one forward and backward from a state where the low-rank terms matter (LoRA B
 * random, not zero), and Trainer steps. LoRA without dropout runs each layer's base and low-rank terms
 * as one joined product; with dropout they are separate products; DoRA adds its column norms. The batch
 * (8 x 64 rows) is large enough that every projection, fused or not, and the LM head take the bf16 path.
 */
class Bf16TrainingFamiliesTest {
    static final int STEPS = 4, BATCH = 8, SEQ = 64;
    // bf16 keeps 8 bits of mantissa: products are off by ~2^-9 relative, and a few layers add that up
    static final double FIRST_LOSS_TOL = 5e-3, LOSS_TOL = 2e-2, GRAD_NORM_TOL = 5e-2, GRAD_TOL = 8e-2;

    @BeforeAll
    static void requireBf16() {
        Assumptions.assumeTrue(CpuOps.bf16Supported(),
                "bf16 training tests skipped: this CPU has neither AVX512-BF16 nor AMX-BF16");
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String[] f : FamilyConfigs.all()) {
            out.add(Arguments.of(f[0] + ", lora", f[0], f[1], (Function<LlamaConfig, FineTuneMethod>) c ->
                    new LoraMethod(new LoraConfig(4, 8f, 0f, PeftFiles.modules(c), false, 3L))));
            out.add(Arguments.of(f[0] + ", lora with dropout", f[0], f[1], (Function<LlamaConfig, FineTuneMethod>) c ->
                    new LoraMethod(new LoraConfig(4, 8f, 0.1f, PeftFiles.modules(c), false, 3L))));
            out.add(Arguments.of(f[0] + ", dora", f[0], f[1], (Function<LlamaConfig, FineTuneMethod>) c ->
                    new DoraMethod(new LoraConfig(4, 8f, 0f, PeftFiles.modules(c), false, 3L))));
        }
        return out.stream();
    }

    private static List<StepMetrics> train(LlamaConfig cfg, Function<LlamaConfig, FineTuneMethod> method,
                                           MatmulPrecision precision, Path out) {
        TrainConfig tc = TrainConfig.builder().lr(2e-3).warmupSteps(1).maxSteps(STEPS).seed(7).precision(precision)
                .evalEvery(TrainConfig.EVAL_AT_END).checkpointEvery(0).build();
        try (Arena arena = new Arena();
             LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, 11L, 0.2f, arena), CpuOps.INSTANCE);
             FineTuneMethod m = method.apply(cfg)) {
            return TrainerRuns.steps(model, m,
                    InMemoryBatchSource.random(cfg.vocabSize(), BATCH * SEQ * STEPS + 1, BATCH, SEQ, 5L), tc, out);
        }
    }

    /** The loss and each trainable gradient of one pass, under the given precision. */
    private record Pass(double loss, Map<String, float[]> grads) {}

    /**
     * One forward and backward of a fresh model and method (same seeds each time, so LoRA dropout draws the
     * same mask), with every trainable value moved off its initialisation so that the low-rank path carries
     * signal. Only by 0.05: moved further, the random model's gradients grow layer by layer towards the input
     * and amplify any rounding, fp32's included.
     */
    private static Pass pass(LlamaConfig cfg, Function<LlamaConfig, FineTuneMethod> method, MatmulPrecision precision,
                             int[] ids, int[] targets) {
        CpuOps ops = CpuOps.INSTANCE;
        Random r = new Random(17);
        try (Arena arena = new Arena();
             LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, 11L, 0.2f, arena), ops);
             FineTuneMethod m = method.apply(cfg)) {
            m.attach(model);
            for (Parameter p : m.trainableParameters()) {
                float[] v = p.value().toFloatArray();
                for (int i = 0; i < v.length; i++) v[i] += (float) (0.05 * r.nextGaussian());
                p.value().floats().put(0, v);
            }
            MatmulPrecision before = ops.matmulPrecision(); // the setting belongs to this thread: give it back
            ops.setMatmulPrecision(precision);
            try (TrainingContext c = model.newTrainingContext(BATCH, SEQ)) {
                for (Parameter p : m.trainableParameters()) p.zeroGrad();
                m.beforeForward();
                c.setBatch(ids, targets, null, null);
                double loss = model.forwardBackward(c, 0f).mean();
                m.afterBackward();
                Map<String, float[]> grads = new LinkedHashMap<>();
                for (Parameter p : m.trainableParameters()) grads.put(p.name(), ops.readFloats(p.grad()));
                return new Pass(loss, grads);
            } finally {
                ops.setMatmulPrecision(before);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void bf16GradientsFollowFp32(String name, String family, String json, Function<LlamaConfig, FineTuneMethod> method)
            throws Exception {
        LlamaConfig cfg = LlamaConfigReader.parse(Path.of(family + "/config.json"), new ObjectMapper().readTree(json));
        Random r = new Random(13);
        int[] ids = new int[BATCH * SEQ], targets = new int[BATCH * SEQ];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(cfg.vocabSize());
            targets[i] = r.nextInt(cfg.vocabSize());
        }
        Pass fp32 = pass(cfg, method, MatmulPrecision.FP32, ids, targets);
        Pass bf16 = pass(cfg, method, MatmulPrecision.BF16, ids, targets);
        assertEquals(fp32.loss, bf16.loss, FIRST_LOSS_TOL * fp32.loss, name + ": loss");
        assertTrue(fp32.loss != bf16.loss, name + ": bf16 loss is bit-identical to fp32 (products never left fp32)");
        for (Map.Entry<String, float[]> e : fp32.grads.entrySet()) {
            float[] a = e.getValue(), b = bf16.grads.get(e.getKey());
            double err = 0, norm = 0;
            for (int i = 0; i < a.length; i++) {
                assertTrue(Float.isFinite(b[i]), name + " d " + e.getKey() + ": element " + i + " is " + b[i]);
                err += (a[i] - (double) b[i]) * (a[i] - (double) b[i]);
                norm += (double) a[i] * a[i];
            }
            assertTrue(norm > 0, name + " d " + e.getKey() + ": fp32 gradient is all zero");
            double rel = Math.sqrt(err / norm);
            assertTrue(rel <= GRAD_TOL, name + " d " + e.getKey() + ": bf16 against fp32 differs by " + rel
                    + " (tolerance " + GRAD_TOL + ")");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void bf16StepsFollowFp32(String name, String family, String json, Function<LlamaConfig, FineTuneMethod> method,
                             @TempDir Path out) throws Exception {
        LlamaConfig cfg = LlamaConfigReader.parse(Path.of(family + "/config.json"), new ObjectMapper().readTree(json));
        List<StepMetrics> fp32 = train(cfg, method, MatmulPrecision.FP32, out.resolve("fp32"));
        List<StepMetrics> bf16 = train(cfg, method, MatmulPrecision.BF16, out.resolve("bf16"));
        assertEquals(STEPS, fp32.size(), name + ": fp32 steps");
        assertEquals(STEPS, bf16.size(), name + ": bf16 steps");
        boolean differs = false;
        for (int s = 0; s < STEPS; s++) {
            StepMetrics a = fp32.get(s), b = bf16.get(s);
            assertTrue(Double.isFinite(b.loss()) && Double.isFinite(b.gradNorm()), name + ": step " + (s + 1) + " not finite");
            double tol = s == 0 ? FIRST_LOSS_TOL : LOSS_TOL;
            assertEquals(a.loss(), b.loss(), tol * a.loss(), name + ": loss of step " + (s + 1));
            assertEquals(a.gradNorm(), b.gradNorm(), GRAD_NORM_TOL * a.gradNorm(), name + ": gradient norm of step " + (s + 1));
            differs |= a.loss() != b.loss();
        }
        // equal losses would mean the products never left fp32, and the comparison proved nothing
        assertTrue(differs, name + ": bf16 steps are bit-identical to fp32");
    }
}
