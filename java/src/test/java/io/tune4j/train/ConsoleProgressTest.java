package io.tune4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ConsoleProgressTest {

    @Test
    void plainLogLinesEveryLogEverySteps() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleProgress p = new ConsoleProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
        p.onStart(TrainConfig.builder().logEvery(5).build(), 0, 12);
        for (int s = 1; s <= 12; s++) p.onStep(new StepMetrics(s, s / 10.0, 2.5, 1e-4, 1.2, 1000, s, null, null, null, null, null, null));
        p.onEval(new EvalResult(12, 2.25, 100, true, 0));
        p.onFinish(new TrainResult(TrainResult.Status.COMPLETED, 12, 2.5, 2.25, null, 12, 2.25));
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals("training: steps 1..12", lines[0]);
        // steps 1, 5, 10 and the last
        assertEquals(7, lines.length, String.join("\n", lines));
        assertTrue(lines[1].startsWith("step 1/12 epoch 0.10 loss 2.5000 lr 1.00e-04 1000 tok/s"), lines[1]);
        assertEquals("step 12 validation loss 2.2500 (best)", lines[5]);
        assertTrue(lines[6].startsWith("training completed after 12 steps"), lines[6]);
    }
}
