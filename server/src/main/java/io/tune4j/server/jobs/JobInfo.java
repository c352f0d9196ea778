package io.tune4j.server.jobs;

/**
 * A job's state as clients see it.
 *
 * @param status validating_files, queued, running, succeeded, failed or cancelled (OpenAI's names)
 * @param fineTunedModel the adapter name it registered for inference once succeeded, else null
 * @param error a message when failed, else null
 */
public record JobInfo(String id, String model, String status, long createdAt, Long finishedAt, String trainingFile,
                      String validationFile, String methodType, String fineTunedModel, long trainedTokens, int step,
                      int totalSteps, String error) {
    public boolean terminal() {
        return status.equals("succeeded") || status.equals("failed") || status.equals("cancelled");
    }
}
