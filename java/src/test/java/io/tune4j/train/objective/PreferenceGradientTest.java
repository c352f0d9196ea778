package io.tune4j.train.objective;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.data.Batch;
import io.tune4j.data.TokenizedExample;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.TrainingContext;
import io.tune4j.ops.Ops;
import io.tune4j.ops.RopeScaling;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.FullMethod;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.peft.PeftFiles;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The gradient of the DPO and ORPO losses with respect to the trainable parameters against central finite
 * differences of the loss, on a tiny random-weight model: LoRA (reference = the model with LoRA switched
 * off) and full fine-tuning (reference = log-probs precomputed from the initial weights).
 */
class PreferenceGradientTest {
    static final Ops OPS = CpuOps.INSTANCE;

    static LlamaConfig tiny() {
        return new LlamaConfig(37, 24, 40, 2, 4, 2, 6, 64, 1e-5f, RopeScaling.none(10000f), false, 1, new int[] {2},
                "silu", false, false);
    }

    /** Two pairs: a shared random prompt per pair, the loss on each row's last few tokens. */
    static Batch pairs(Rand rnd, int T) {
        int B = 4, n = B * T;
        int[] ids = new int[n], targets = new int[n], pos = new int[n];
        for (int row = 0; row < B; row++) {
            int prompt = 3 + row / 2;
            for (int t = 0; t < T; t++) {
                int i = row * T + t;
                ids[i] = row % 2 == 1 && t < prompt ? ids[i - T] : rnd.nextInt(37);
                pos[i] = t;
            }
            for (int t = 0; t < T; t++) {
                int i = row * T + t;
                targets[i] = t >= prompt - 1 && t < T - 1 ? ids[i + 1] : TokenizedExample.IGNORE;
            }
        }
        return new Batch(B, T, ids, targets, pos, null);
    }

    @Test
    void dpoGradientWithLoraMatchesFiniteDifferences() {
        check(new DpoObjective(0.5), true);
    }

    @Test
    void dpoGradientOfFullFineTuneMatchesFiniteDifferences() {
        check(new DpoObjective(0.5), false);
    }

    @Test
    void orpoGradientMatchesFiniteDifferences() {
        check(new OrpoObjective(0.7), true);
    }

    private void check(PreferenceObjective objective, boolean lora) {
        Rand rnd = new Rand();
        LlamaConfig cfg = tiny();
        String what = objective.objective().id() + (lora ? " lora " : " full ") + rnd;
        try (Arena arena = new Arena()) {
            Map<String, Tensor> w = RandomWeights.create(cfg, rnd.seed, 0.3f, arena);
            LlamaModel model = LlamaModel.fromWeights(cfg, w, OPS);
            int T = 9;
            Batch b = pairs(rnd, T);
            try (FineTuneMethod method = lora ? new LoraMethod(new LoraConfig(2, 4f, 0f, PeftFiles.MODULES, false, rnd.seed))
                    : new FullMethod(null);
                 TrainingContext c = model.newTrainingContext(b.batchSize(), T)) {
                method.attach(model);
                List<Parameter> params = method.trainableParameters();
                if (lora) {
                    // LoRA starts as the identity (B = 0): move off it so the policy differs from the reference
                    for (LoraMethod.Site s : ((LoraMethod) method).sites()) {
                        Tensor bw = s.projection().loraB().value();
                        bw.floats().put(rnd.normal((int) bw.numel(), 0.3));
                    }
                }
                ReferenceModel reference = !objective.needsReference() ? null
                        : lora ? new MethodOffReference(model, method)
                        : PrecomputedReference.compute(model, c, new OneBatch(b));
                if (!lora) {
                    // with the reference fixed at the initial weights, move the policy away from them
                    for (Parameter p : params) {
                        float[] v = p.value().toFloatArray();
                        float[] r = rnd.normal(v.length, 0.05);
                        for (int i = 0; i < v.length; i++) v[i] += r[i];
                        p.value().floats().put(v);
                    }
                }
                PreferenceStep step = new PreferenceStep(model, method, objective, reference);
                directional(step, c, b, params, rnd, what);
            }
        }
    }

    /** Analytic directional derivatives of the summed loss against central differences (as model tests do). */
    private static void directional(PreferenceStep step, TrainingContext c, Batch b, List<Parameter> params, Rand rnd,
                                    String what) {
        for (Parameter p : params) p.zeroGrad();
        step.train(c, b, 1.0);
        float[][] original = new float[params.size()][], grads = new float[params.size()][];
        double gnorm2 = 0;
        for (int i = 0; i < params.size(); i++) {
            original[i] = params.get(i).value().toFloatArray();
            grads[i] = params.get(i).grad().toFloatArray();
            for (float g : grads[i]) gnorm2 += (double) g * g;
        }
        double gnorm = Math.sqrt(gnorm2);
        assertTrue(gnorm > 0, what + ": zero gradient");
        try {
            for (int trial = 0; trial < 3; trial++) {
                float[][] dirs = new float[params.size()][];
                double dot = 0, norm2 = 0;
                for (int i = 0; i < params.size(); i++) {
                    float[] r = rnd.normal(grads[i].length, trial == 0 ? 0.0 : 1.0 / Math.sqrt(grads[i].length));
                    for (int j = 0; j < r.length; j++) r[j] += (float) (grads[i][j] / gnorm);
                    dirs[i] = r;
                    for (int j = 0; j < r.length; j++) {
                        dot += (double) grads[i][j] * r[j];
                        norm2 += (double) r[j] * r[j];
                    }
                }
                double unit = 1 / Math.sqrt(norm2);
                dot *= unit;
                double eps = 1e-3;
                double lp = lossAt(step, c, b, params, original, dirs, eps * unit);
                double lm = lossAt(step, c, b, params, original, dirs, -eps * unit);
                double fd = (lp - lm) / (2 * eps);
                assertTrue(Math.abs(fd - dot) <= 1e-2 * Math.abs(dot) + 1e-4 * gnorm,
                        what + ": analytic " + dot + " vs finite difference " + fd + " (|grad| " + gnorm + ")");
            }
        } finally {
            for (int i = 0; i < params.size(); i++) params.get(i).value().floats().put(original[i]);
        }
    }

    private static double lossAt(PreferenceStep step, TrainingContext c, Batch b, List<Parameter> params,
                                 float[][] original, float[][] dirs, double h) {
        for (int i = 0; i < params.size(); i++) {
            float[] v = new float[original[i].length];
            for (int j = 0; j < v.length; j++) v[j] = (float) (original[i][j] + h * dirs[i][j]);
            params.get(i).value().floats().put(v);
        }
        return step.evaluate(c, b).lossSum();
    }

    /** A source of one batch, to precompute the full fine-tune's reference from. */
    private record OneBatch(Batch b) implements io.tune4j.data.BatchSource {
        public int batchSize() { return b.batchSize(); }
        public int seqLen() { return b.seqLen(); }
        public int batchesPerEpoch() { return 1; }
        public Batch batch(int epoch, int index) { return b; }
    }
}
