package io.tune4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.testing.Fixtures;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Recomputing activations in backward must give the very same gradients as keeping them. */
class GradientCheckpointingTest {

    @Test
    void gradientsAreIdenticalWithAndWithoutCheckpointing() {
        java.nio.file.Path dir = Fixtures.require("models/stories260K-hf");
        try (LoadedModel m = LoadedModel.load(dir, null, CpuOps.INSTANCE)) {
            LlamaModel model = m.model();
            List<Parameter> params = model.parameters();
            for (Parameter p : params) p.requireGrad();
            int B = 2, T = 48, M = B * T;
            Random rnd = new Random(7);
            int[] ids = new int[M], targets = new int[M];
            for (int i = 0; i < M; i++) {
                ids[i] = rnd.nextInt(512);
                targets[i] = i % 7 == 0 ? -100 : rnd.nextInt(512);
            }
            float[][] plain = gradients(model, params, ids, targets, false);
            float[][] recomputed = gradients(model, params, ids, targets, true);
            for (int i = 0; i < params.size(); i++) {
                assertArrayEquals(plain[i], recomputed[i], params.get(i).name());
            }
        }
    }

    private static float[][] gradients(LlamaModel model, List<Parameter> params, int[] ids, int[] targets,
                                       boolean checkpointing) {
        try (TrainingContext c = model.newTrainingContext(2, 48, checkpointing)) {
            assertEquals(checkpointing, c.gradientCheckpointing());
            c.setBatch(ids, targets, null, null);
            model.zeroGrad();
            model.forwardBackward(c, 0f);
            float[][] out = new float[params.size()][];
            for (int i = 0; i < params.size(); i++) out[i] = params.get(i).grad().toFloatArray();
            return out;
        }
    }
}
