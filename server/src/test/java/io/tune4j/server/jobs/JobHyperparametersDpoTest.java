package io.tune4j.server.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tune4j.train.TrainConfig;
import io.tune4j.train.objective.Objective;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** OpenAI's method type "dpo": LoRA trained with the DPO objective, beta its hyperparameter. */
class JobHyperparametersDpoTest {
    @Test
    void dpoIsLoraWithTheDpoObjective() {
        JobHyperparameters hp = JobHyperparameters.parse("dpo", Map.of("beta", 0.25, "batch_size", 4, "lora_r", 4), 512);
        TrainConfig tc = hp.trainConfig(1);
        assertEquals(Objective.DPO, tc.objective());
        assertEquals(0.25, tc.beta());
        assertEquals("lora", hp.methodSpec().type());
        assertEquals(0.25, hp.effective().get("beta"));
        assertEquals(Objective.SFT, JobHyperparameters.parse("supervised", Map.of(), 512).trainConfig(1).objective());
        assertEquals(0.1, JobHyperparameters.parse("dpo", Map.of(), 512).trainConfig(1).beta());
    }

    @Test
    void badDpoSettingsAreRefusedWhenTheJobIsCreated() {
        assertThrows(JobException.class, () -> JobHyperparameters.parse("dpo", Map.of("batch_size", 3), 512));
        assertThrows(JobException.class, () -> JobHyperparameters.parse("dpo", Map.of("beta", 0), 512));
        assertThrows(JobException.class, () -> JobHyperparameters.parse("supervised", Map.of("beta", 0.1), 512));
    }
}
