package io.tune4j.peft;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.TrainingContext;
import io.tune4j.ops.RopeScaling;
import io.tune4j.testing.Rand;
import java.util.List;

/** Shared helpers: a tiny config, logits through the decoding path, and the method gradient check. */
final class PeftTesting {
    private PeftTesting() {}

    static LlamaConfig tiny(boolean tied, boolean bias) {
        return new LlamaConfig(37, 24, 40, 2, 4, 2, 6, 64, 1e-5f, RopeScaling.none(10000f), tied, 1, new int[] {2},
                "silu", bias, false);
    }

    static int[] tokens(Rand rnd, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rnd.nextInt(vocab);
        return t;
    }

    /**
     * Logits of every position: the first half prefilled in one step (many rows), the rest one token
     * per step (one row), so both shapes of the decoding path are covered.
     */
    static float[] logits(LlamaModel model, int[] tokens) {
        int V = model.config().vocabSize();
        int half = Math.max(1, tokens.length / 2);
        float[] out = new float[(tokens.length - half + 1) * V];
        try (InferenceContext c = model.newInferenceContext(1, 64, tokens.length)) {
            float[] l = model.step(c, new int[] {0}, new int[][] {java.util.Arrays.copyOf(tokens, half)}, new int[] {0})
                    .toFloatArray();
            System.arraycopy(l, 0, out, 0, V);
            for (int i = half; i < tokens.length; i++) {
                l = model.step(c, new int[] {0}, new int[][] {{tokens[i]}}, new int[] {i}).toFloatArray();
                System.arraycopy(l, 0, out, (i - half + 1) * V, V);
            }
        }
        return out;
    }

    static double maxRelDiff(float[] a, float[] b) {
        double maxAbs = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs((double) a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return maxAbs / Math.max(scale, 1e-30);
    }

    static double loss(LlamaModel model, FineTuneMethod m, TrainingContext c) {
        m.beforeForward();
        return model.forward(c).mean();
    }

    /**
     * The method's analytic gradient (only its parameters train) against central finite differences
     * of the model's loss along random directions mixed with the gradient, as ModelGradientTest does
     * for the whole model. {@code advance}: whether beforeForward runs before each evaluation (off
     * for LoRA dropout, whose mask must stay fixed across the evaluations).
     */
    static void checkGradient(LlamaModel model, FineTuneMethod m, Rand rnd, int B, int T, boolean advance, String what) {
        LlamaConfig cfg = model.config();
        List<Parameter> params = m.trainableParameters();
        for (Parameter p : params) assertTrue(p.trainable(), p + " should train");
        for (Parameter p : model.parameters()) {
            if (ModelDirWriter.isBaseWeight(p.name())) assertTrue(!p.trainable(), p + " should be frozen");
        }
        float[][] original = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) original[i] = params.get(i).value().toFloatArray();
        try (TrainingContext c = model.newTrainingContext(B, T)) {
            int M = B * T;
            int[] ids = tokens(rnd, M, cfg.vocabSize()), targets = new int[M];
            for (int i = 0; i < M; i++) targets[i] = i % 5 == 3 ? -100 : rnd.nextInt(cfg.vocabSize());
            c.setBatch(ids, targets, null, null);
            for (Parameter p : params) p.zeroGrad();
            m.beforeForward();
            model.forwardBackward(c, 0f);
            m.afterBackward();
            float[][] grads = new float[params.size()][];
            double gnorm2 = 0;
            for (int i = 0; i < params.size(); i++) {
                grads[i] = params.get(i).grad().toFloatArray();
                for (float g : grads[i]) gnorm2 += (double) g * g;
            }
            double gnorm = Math.sqrt(gnorm2);
            assertTrue(gnorm > 0, what + ": zero gradient");
            for (int trial = 0; trial < 3; trial++) {
                double dot = 0, norm2 = 0;
                float[][] dirs = new float[params.size()][];
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
                double lp = lossAt(model, m, c, params, original, dirs, eps * unit, advance);
                double lm = lossAt(model, m, c, params, original, dirs, -eps * unit, advance);
                double fd = (lp - lm) / (2 * eps);
                double err = Math.abs(fd - dot);
                assertTrue(err <= 1e-2 * Math.abs(dot) + 1e-4 * gnorm,
                        what + ": analytic " + dot + " vs finite difference " + fd + " (|grad| " + gnorm + ")");
            }
        } finally {
            for (int i = 0; i < params.size(); i++) params.get(i).value().floats().put(original[i]);
        }
    }

    private static double lossAt(LlamaModel model, FineTuneMethod m, TrainingContext c, List<Parameter> params,
                                 float[][] original, float[][] dirs, double step, boolean advance) {
        for (int i = 0; i < params.size(); i++) {
            float[] v = new float[original[i].length];
            for (int j = 0; j < v.length; j++) v[j] = (float) (original[i][j] + step * dirs[i][j]);
            params.get(i).value().floats().put(v);
        }
        if (advance) m.beforeForward();
        return model.forward(c).mean();
    }
}
