package io.tune4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainConfigTest {

    @Test
    void yamlAndJsonRoundTripEveryField(@TempDir Path dir) {
        TrainConfig c = TrainConfig.builder().lr(1e-3).minLr(1e-5).schedule(TrainConfig.Schedule.LINEAR)
                .warmupSteps(7).maxSteps(123).epochs(3).batchSize(8).seqLen(256).gradAccumSteps(4)
                .maxGradNorm(0.5).weightDecay(0.01).noDecay(List.of("embed", "lora_")).beta1(0.8).beta2(0.95)
                .eps(1e-6).seed(1234).threads(2).checkpointEvery(50).keepCheckpoints(3).evalEvery(25)
                .evalBatches(10).earlyStoppingPatience(4).gradientCheckpointing(true).logEvery(5).build();
        assertEquals(c, TrainConfig.fromYaml(c.toYaml()));
        assertEquals(c, TrainConfig.fromJson(c.toJson()));
        c.save(dir.resolve("train.yaml"));
        assertEquals(c, TrainConfig.load(dir.resolve("train.yaml")));
        assertTrue(c.toYaml().contains("schedule: linear"), c.toYaml());
    }

    @Test
    void omittedFieldsTakeDefaults() {
        TrainConfig c = TrainConfig.fromYaml("lr: 0.002\nmaxSteps: 10\n");
        assertEquals(0.002, c.lr());
        assertEquals(10, c.maxSteps());
        assertEquals(TrainConfig.defaults().toBuilder().lr(0.002).maxSteps(10).build(), c);
    }

    @Test
    void badInputNamesLineAndField(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, "lr: 0.001\nlearningRate: 3\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(f));
        assertTrue(e.getMessage().startsWith(f + ":2:"), e.getMessage());
        assertTrue(e.getMessage().contains("learningRate"), e.getMessage());

        Files.writeString(f, "lr: 0.001\ngradAccumSteps: 0\n");
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(f));
        assertTrue(e.getMessage().contains("gradAccumSteps: expected >= 1, got 0"), e.getMessage());
        assertTrue(e.getMessage().startsWith(f + ":"), e.getMessage());

        Files.writeString(f, "schedule: exponential\n");
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(f));
        assertTrue(e.getMessage().startsWith(f + ":1:"), e.getMessage());
        assertTrue(e.getMessage().contains("exponential"), e.getMessage());
    }

    @Test
    void weightDecayExclusions() {
        TrainConfig c = TrainConfig.builder().weightDecay(0.1).build();
        assertTrue(c.decays("model.layers.0.mlp.up_proj.weight", 2));
        assertFalse(c.decays("model.layers.0.input_layernorm.weight", 2)); // by name
        assertFalse(c.decays("model.layers.0.mlp.up_proj.bias", 1));
        assertFalse(c.decays("some.vector", 1)); // 1-D
        assertFalse(TrainConfig.defaults().decays("model.layers.0.mlp.up_proj.weight", 2)); // no decay configured
    }
}
