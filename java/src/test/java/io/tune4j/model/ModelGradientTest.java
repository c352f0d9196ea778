package io.tune4j.model;

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

    /** Every parameter of the model trains; see {@link io.tune4j.testing.GradientCheck}. */
    static void checkModel(LlamaModel model, Rand rnd, int B, int T, String what) {
        List<Parameter> params = model.parameters();
        for (Parameter p : params) p.requireGrad();
        try {
            io.tune4j.testing.GradientCheck.directional(model, params, () -> {}, () -> {}, false, rnd, B, T, what);
        } finally {
            for (Parameter p : params) p.freeze();
        }
    }
}
