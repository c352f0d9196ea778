package io.tune4j.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

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
 * @param rewardsMargins preference objectives: mean over the step's pairs of reward(chosen) - reward(rejected); else null
 * @param rewardsAccuracy preference objectives: fraction of the step's pairs whose chosen reward is the higher
 * @param logpsChosen preference objectives: mean summed log-probability of the chosen responses
 * @param logpsRejected preference objectives: mean summed log-probability of the rejected responses
 * @param valRewardsAccuracy preference objectives: preference accuracy on the validation pairs, when validated
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StepMetrics(int step, double epoch, double loss, double lr, double gradNorm, double tokensPerSecond,
                          double elapsedSeconds, Double valLoss,
                          @JsonProperty("rewards/margins") Double rewardsMargins,
                          @JsonProperty("rewards/accuracy") Double rewardsAccuracy,
                          @JsonProperty("logps/chosen") Double logpsChosen,
                          @JsonProperty("logps/rejected") Double logpsRejected,
                          @JsonProperty("valRewards/accuracy") Double valRewardsAccuracy) {}
