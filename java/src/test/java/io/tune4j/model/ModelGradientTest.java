package io.tune4j.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.ops.Ops;
import io.tune4j.ops.RopeScaling;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The whole model's analytic gradient against central finite differences of its loss, along
 * random directions in parameter space (all parameters at once) and for single elements.
 */
class ModelGradientTest {
    static List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    static LlamaConfig tiny(boolean tied, boolean bias) {
        return new LlamaConfig(37, 24, 40, 2, 4, 2, 6, 64, 1e-5f, RopeScaling.none(10000f), tied, 1, new int[] {2},
                "silu", bias, false);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void directionalDerivativeMatchesFiniteDifferences(Ops ops) {
        for (boolean tied : new boolean[] {true, false}) {
            Rand rnd = new Rand();
            LlamaConfig cfg = tiny(tied, !tied);
            try (Arena arena = new Arena()) {
                Map<String, Tensor> w = RandomWeights.create(cfg, rnd.seed, 0.3f, arena);
                LlamaModel model = LlamaModel.fromWeights(cfg, w, ops);
                checkModel(model, rnd, 2, 9, "tied=" + tied + " " + rnd);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void stories260KGradientMatchesFiniteDifferences(Ops ops) {
        java.nio.file.Path dir = io.tune4j.testing.Fixtures.require("models/stories260K-hf");
        try (LoadedModel m = LoadedModel.load(dir, null, ops)) {
            Rand rnd = new Rand();
            checkModel(m.model(), rnd, 2, 24, "stories260K " + rnd);
        }
    }

    /** Compares grad·v with (L(θ+εv) − L(θ−εv)) / 2ε along random unit directions v. */
    static void checkModel(LlamaModel model, Rand rnd, int B, int T, String what) {
        LlamaConfig cfg = model.config();
        List<Parameter> params = model.parameters();
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
            for (Parameter p : params) p.requireGrad();
            model.zeroGrad();
            model.forwardBackward(c, 0f);
            float[][] grads = new float[params.size()][];
            double gnorm2 = 0;
            for (int i = 0; i < params.size(); i++) {
                grads[i] = params.get(i).grad().toFloatArray();
                for (float g : grads[i]) gnorm2 += (double) g * g;
            }
            double gnorm = Math.sqrt(gnorm2);
            // trial 0 runs along the gradient itself (checks its magnitude with a large derivative);
            // the others along random directions mixed half-and-half with it
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
                double lp = lossAt(model, c, params, original, dirs, eps * unit);
                double lm = lossAt(model, c, params, original, dirs, -eps * unit);
                double fd = (lp - lm) / (2 * eps);
                double err = Math.abs(fd - dot);
                assertTrue(err <= 1e-2 * Math.abs(dot) + 1e-4 * gnorm,
                        what + ": analytic " + dot + " vs finite difference " + fd + " (|grad| " + gnorm + ")");
            }
        } finally {
            for (int i = 0; i < params.size(); i++) {
                params.get(i).value().floats().put(original[i]);
                params.get(i).freeze();
            }
        }
    }

    private static double lossAt(LlamaModel model, TrainingContext c, List<Parameter> params, float[][] original,
                                 float[][] dirs, double step) {
        for (int i = 0; i < params.size(); i++) {
            float[] v = new float[original[i].length];
            for (int j = 0; j < v.length; j++) v[j] = (float) (original[i][j] + step * dirs[i][j]);
            params.get(i).value().floats().put(v);
        }
        return model.forward(c).mean();
    }
}
