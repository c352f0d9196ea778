package io.tune4j.train;

import java.nio.file.Path;

/**
 * How a run ended.
 *
 * @param status why it ended
 * @param steps optimiser steps completed (including those before a resume)
 * @param lastLoss training loss of the last step (NaN if none ran)
 * @param bestValLoss best validation loss (NaN without validation)
 * @param finalDir where the fine-tuning method saved its result, or null (cancelled)
 * @param keptStep the step whose weights the model holds at the end and finalDir has: the best validation step
 *                 under {@link TrainConfig.Select#BEST}, else the last step
 * @param lastValLoss validation loss after the last step (NaN when the last step was not validated)
 */
public record TrainResult(Status status, int steps, double lastLoss, double bestValLoss, Path finalDir, int keptStep,
                          double lastValLoss) {
    public enum Status { COMPLETED, EARLY_STOPPED, CANCELLED }
}
