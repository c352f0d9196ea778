package io.tune4j.server.jobs;

import java.util.Map;

/**
 * An OpenAI-shaped job request.
 *
 * @param model the served base model's id (the only model a job may tune)
 * @param trainingFile a file id returned by POST /v1/files
 * @param validationFile a file id, or null
 * @param methodType lora, adapter, prefix or full
 * @param hyperparameters n_epochs, batch_size, learning_rate_multiplier or learning_rate, plus
 *     method options (r, lora_alpha, target_modules, ...); values are JSON scalars or lists
 * @param suffix appended to the fine-tuned model's name, or null
 * @param seed or null for the default
 */
public record JobRequest(String model, String trainingFile, String validationFile, String methodType,
                         Map<String, Object> hyperparameters, String suffix, Long seed) {}
