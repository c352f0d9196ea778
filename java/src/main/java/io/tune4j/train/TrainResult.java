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
 */
public record TrainResult(Status status, int steps, double lastLoss, double bestValLoss, Path finalDir) {
    public enum Status { COMPLETED, EARLY_STOPPED, CANCELLED }
}
