package io.tune4j.server.jobs;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What job.json holds: everything needed to show a job and to run (or resume) it after a restart.
 * Mutable, guarded by the {@link DiskJobService}'s lock; written whole and atomically.
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.ANY, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
final class JobRecord {
    String id;
    String model;
    String status;
    long createdMillis;
    Long startedMillis;
    Long finishedMillis;
    String trainingFile;
    String validationFile;
    String method;
    Map<String, Object> hyperparameters = new LinkedHashMap<>();
    String suffix;
    long seed;
    String fineTunedModel;
    long trainedTokens;
    int step;
    int totalSteps;
    String errorCode;
    String errorMessage;
    String errorParam;
    Map<String, Object> metrics;
    /** The result directory relative to the data directory. */
    String result;

    boolean terminal() {
        return status.equals("succeeded") || status.equals("failed") || status.equals("cancelled");
    }

    JobInfo info(Map<String, Object> effectiveHyperparameters) {
        return new JobInfo(id, model, status, createdMillis / 1000, finishedMillis == null ? null : finishedMillis / 1000,
                trainingFile, validationFile, method, fineTunedModel, trainedTokens, step, totalSteps, errorMessage,
                effectiveHyperparameters == null ? null : Collections.unmodifiableMap(effectiveHyperparameters), seed, suffix,
                errorCode, errorParam, metrics == null ? null : Collections.unmodifiableMap(metrics), result);
    }
}
