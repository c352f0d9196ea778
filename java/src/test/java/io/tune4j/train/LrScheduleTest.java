package io.tune4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tune4j.train.TrainConfig.Schedule;
import org.junit.jupiter.api.Test;

class LrScheduleTest {

    @Test
    void warmupRisesLinearlyFromTheFirstStep() {
        LrSchedule s = new LrSchedule(Schedule.CONSTANT, 1e-3, 0, 4, 100);
        assertEquals(0.25e-3, s.lr(0), 1e-15);
        assertEquals(0.5e-3, s.lr(1), 1e-15);
        assertEquals(1e-3, s.lr(3), 1e-15);
        assertEquals(1e-3, s.lr(4), 1e-15);
        assertEquals(1e-3, s.lr(99), 1e-15);
    }

    @Test
    void linearDecaysToMinLr() {
        LrSchedule s = new LrSchedule(Schedule.LINEAR, 1.0, 0.1, 0, 10);
        assertEquals(1.0, s.lr(0), 1e-12);
        assertEquals(0.55, s.lr(5), 1e-12);
        assertEquals(0.1, s.lr(10), 1e-12);
        assertEquals(0.1, s.lr(20), 1e-12);
    }

    @Test
    void cosineAfterWarmup() {
        LrSchedule s = new LrSchedule(Schedule.COSINE, 2.0, 0.0, 10, 110);
        assertEquals(2.0, s.lr(10), 1e-12);
        assertEquals(1.0, s.lr(60), 1e-12);
        assertEquals(2.0 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), s.lr(35), 1e-12);
        assertEquals(0.0, s.lr(110), 1e-12);
    }
}
