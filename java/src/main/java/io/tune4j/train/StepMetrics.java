package io.tune4j.train;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What one optimiser step reports; one line of metrics.jsonl.
 *
 * @param step 1-based optimiser step
 * @param epoch passes over the training data completed, fractional
 * @param loss mean loss over the target tokens of the step's micro-batches
 * @param lr learning rate used for the step
 * @param gradNorm global gradient norm before clipping
 * @param tokensPerSecond tokens (padding included) processed per second during the step
 * @param elapsedSeconds training time since the run first started (across resumes)
 * @param valLoss validation loss after the step, or null when no validation ran
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StepMetrics(int step, double epoch, double loss, double lr, double gradNorm, double tokensPerSecond,
                          double elapsedSeconds, Double valLoss) {}
