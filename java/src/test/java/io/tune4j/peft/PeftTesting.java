package io.tune4j.peft;

import io.tune4j.testing.GradientCheck;

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
        // every base weight is frozen except the method's own copies (LoRA's modules_to_save)
        for (Parameter p : model.parameters()) {
            if (ModelDirWriter.isBaseWeight(p.name()) && !params.contains(p)) assertTrue(!p.trainable(), p + " should be frozen");
        }
        GradientCheck.directional(model, params, m::beforeForward, m::afterBackward, advance, rnd, B, T, what);
    }
}
