package io.tune4j.server.jobs;

import java.util.List;
import java.util.Optional;

/**
 * Fine-tuning jobs as both transports see them: the HTTP endpoints under /v1/fine_tuning/jobs and
 * the gRPC CreateJob/GetJob/WatchJob/CancelJob calls are thin adapters over this one interface.
 * Methods may be called from any thread and never block on training.
 */
public interface JobService {
    /** Checks the request (files exist, method and hyperparameters valid) and queues the job. */
    JobInfo create(JobRequest request);

    Optional<JobInfo> get(String id);

    /** Newest first; {@code after} is the id of the last job of the previous page (null: from the newest). */
    List<JobInfo> list(int limit, String after);

    /** Cancels a queued or running job; a job that already ended is returned unchanged. */
    JobInfo cancel(String id);

    /**
     * Replays the job's events with sequence number greater than {@code afterSeq}, then delivers new
     * ones as they happen, and finally {@link JobEventListener#onEnd} once the job is terminal
     * (immediately after the replay for a job that already ended). Closing the handle stops delivery.
     */
    AutoCloseable watch(String id, long afterSeq, JobEventListener listener);

    /**
     * The job's events so far, oldest first. The default collects a watch's replay, which suits
     * services that replay before {@link #watch} returns.
     */
    default List<JobEvent> events(String id) {
        List<JobEvent> out = new java.util.ArrayList<>();
        try (AutoCloseable h = watch(id, 0, new JobEventListener() {
            @Override
            public void onEvent(JobEvent event) {
                synchronized (out) {
                    out.add(event);
                }
            }

            @Override
            public void onEnd(JobInfo job) {}
        })) {
            synchronized (out) {
                return List.copyOf(out);
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
