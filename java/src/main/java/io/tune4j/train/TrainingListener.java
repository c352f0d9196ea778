package io.tune4j.train;

import java.nio.file.Path;

/**
 * Observes a run (progress display, a server's job status). Called on the training thread;
 * implementations should return quickly.
 */
public interface TrainingListener {

    /** Before the first step; startStep &gt; 0 when resuming. */
    default void onStart(TrainConfig config, int startStep, int totalSteps) {}

    /** After every optimiser step (and its validation pass, if one ran). */
    default void onStep(StepMetrics metrics) {}

    /** After every validation pass, before the step's {@link #onStep}. */
    default void onEval(EvalResult result) {}

    /** After a checkpoint directory was published. */
    default void onCheckpoint(int step, Path dir) {}

    default void onFinish(TrainResult result) {}

    /** Polled before every step: true stops the run (it checkpoints first when checkpoints are on). */
    default boolean cancelRequested() {
        return false;
    }
}
