package io.tune4j.server.jobs;

import java.util.Map;

/**
 * A job's state as clients see it.
 *
 * @param status validating_files, queued, running, succeeded, failed or cancelled (OpenAI's names)
 * @param fineTunedModel the adapter name it registered for inference once succeeded, else null
 * @param error a message when failed, else null
 * @param hyperparameters the values the job trains with, defaults filled in (null: not known)
 * @param seed the seed it trains with, or null
 * @param suffix the caller's suffix of the fine-tuned model's name, or null
 * @param errorCode a machine-readable reason when failed, else null
 * @param errorParam the request field the failure traces to, or null
 * @param metrics the before/after evaluation (eval.json: before, after, delta) once succeeded, else null
 * @param result where the result (adapter or model directory) lies, relative to the data directory, or null
 */
public record JobInfo(String id, String model, String status, long createdAt, Long finishedAt, String trainingFile,
                      String validationFile, String methodType, String fineTunedModel, long trainedTokens, int step,
                      int totalSteps, String error, Map<String, Object> hyperparameters, Long seed, String suffix,
                      String errorCode, String errorParam, Map<String, Object> metrics, String result) {

    /** Without the details that only some services know. */
    public JobInfo(String id, String model, String status, long createdAt, Long finishedAt, String trainingFile,
                   String validationFile, String methodType, String fineTunedModel, long trainedTokens, int step,
                   int totalSteps, String error) {
        this(id, model, status, createdAt, finishedAt, trainingFile, validationFile, methodType, fineTunedModel, trainedTokens,
                step, totalSteps, error, null, null, null, null, null, null, null);
    }

    public boolean terminal() {
        return status.equals("succeeded") || status.equals("failed") || status.equals("cancelled");
    }
}
