package io.tune4j.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.TrainingContext;
import java.util.List;

/**
 * The model's analytic gradient for {@code params} against central finite differences of its
 * loss, along the gradient itself (a large derivative, so its magnitude is checked) and along
 * random directions mixed half-and-half with it. The tolerance scales with |grad| because fp32
 * loss evaluations carry absolute noise.
 */
public final class GradientCheck {
    private GradientCheck() {}

    /**
     * @param beforeForward run before every forward (a fine-tuning method's hook), or a no-op
     * @param afterBackward run after the backward, or a no-op
     * @param hookEveryEvaluation whether beforeForward also runs before each finite-difference
     *     evaluation (off when it would change the function, e.g. a new dropout mask)
     */
    public static void directional(LlamaModel model, List<Parameter> params, Runnable beforeForward,
                                   Runnable afterBackward, boolean hookEveryEvaluation, Rand rnd, int B, int T,
                                   String what) {
        LlamaConfig cfg = model.config();
        float[][] original = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) original[i] = params.get(i).value().toFloatArray();
        try (TrainingContext c = model.newTrainingContext(B, T)) {
            int M = B * T;
            int[] ids = new int[M], targets = new int[M];
            for (int i = 0; i < M; i++) {
                ids[i] = rnd.nextInt(cfg.vocabSize());
                targets[i] = i % 5 == 3 ? -100 : rnd.nextInt(cfg.vocabSize());
            }
            c.setBatch(ids, targets, null, null);
            for (Parameter p : params) p.zeroGrad();
            beforeForward.run();
            model.forwardBackward(c, 0f);
            afterBackward.run();
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
                Runnable hook = hookEveryEvaluation ? beforeForward : () -> {};
                double lp = lossAt(model, c, params, original, dirs, eps * unit, hook);
                double lm = lossAt(model, c, params, original, dirs, -eps * unit, hook);
                double fd = (lp - lm) / (2 * eps);
                assertTrue(Math.abs(fd - dot) <= 1e-2 * Math.abs(dot) + 1e-4 * gnorm,
                        what + ": analytic " + dot + " vs finite difference " + fd + " (|grad| " + gnorm + ")");
            }
        } finally {
            for (int i = 0; i < params.size(); i++) params.get(i).value().floats().put(original[i]);
        }
    }

    private static double lossAt(LlamaModel model, TrainingContext c, List<Parameter> params, float[][] original,
                                 float[][] dirs, double step, Runnable hook) {
        for (int i = 0; i < params.size(); i++) {
            float[] v = new float[original[i].length];
            for (int j = 0; j < v.length; j++) v[j] = (float) (original[i][j] + step * dirs[i][j]);
            params.get(i).value().floats().put(v);
        }
        hook.run();
        return model.forward(c).mean();
    }
}
