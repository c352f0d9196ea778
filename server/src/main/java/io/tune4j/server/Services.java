package io.tune4j.server;

/** What the per-channel handlers share: one instance per server. */
record Services(Scheduler scheduler, Metrics metrics, AdapterRegistry adapters, ServerOptions options, String modelId,
                ChatPrompt chat, long createdEpochSeconds) {}
