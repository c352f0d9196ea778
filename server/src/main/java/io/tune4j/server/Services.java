package io.tune4j.server;

import io.tune4j.server.jobs.FileStore;
import io.tune4j.server.jobs.JobService;
import java.util.concurrent.ExecutorService;

/**
 * What the per-channel handlers share: one instance per server.
 *
 * @param jobs fine-tuning jobs, or null (no --data-dir)
 * @param files uploaded training files, or null (no --data-dir)
 * @param blocking where endpoints do work that touches the disk, off the event loops
 */
record Services(Scheduler scheduler, Metrics metrics, AdapterRegistry adapters, ServerOptions options, String modelId,
                ChatPrompt chat, long createdEpochSeconds, JobService jobs, FileStore files, ExecutorService blocking) {}
