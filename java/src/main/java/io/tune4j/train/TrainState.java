package io.tune4j.train;

/**
 * The loop's position, saved in every checkpoint (state.json): with the parameters and the
 * optimiser moments it is everything a resumed run needs to continue bit for bit.
 *
 * @param step optimiser steps completed (the schedule's position)
 * @param epoch epoch of the next micro-batch
 * @param batchIndex index within that epoch of the next micro-batch
 * @param optimizerStep AdamW's bias-correction step counter
 * @param rngState state of the run's random stream
 * @param bestValLoss best validation loss so far, or null
 * @param evalsWithoutImprovement early-stopping counter
 * @param elapsedSeconds training time so far
 * @param tokensSeen tokens processed so far
 * @param bestStep step of the best validation loss, or null
 */
public record TrainState(int step, int epoch, int batchIndex, int optimizerStep, long rngState, Double bestValLoss,
                         int evalsWithoutImprovement, double elapsedSeconds, long tokensSeen, Integer bestStep) {}
