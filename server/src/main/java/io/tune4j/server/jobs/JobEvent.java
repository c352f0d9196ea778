package io.tune4j.server.jobs;

import java.util.Map;

/**
 * One entry of a job's event log.
 *
 * @param seq increasing from 1 within a job
 * @param type "message" or "metrics" (then {@code data} holds step, train_loss, learning_rate,
 *     tokens_per_second and, at evaluations, valid_loss)
 */
public record JobEvent(long seq, long createdAt, String level, String type, String message, Map<String, Object> data) {}
