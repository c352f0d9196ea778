package io.tune4j.server.jobs;

/** Receives a watched job's events; called from the job service's threads, so it must not block. */
public interface JobEventListener {
    void onEvent(JobEvent event);

    /** The job reached a terminal state; no events follow. */
    void onEnd(JobInfo job);
}
