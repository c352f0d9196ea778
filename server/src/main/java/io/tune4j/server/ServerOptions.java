package io.tune4j.server;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Settings of an {@link InferenceServer}; the defaults suit a single small machine. */
public final class ServerOptions {
    public String host = "127.0.0.1";
    /** 0 picks a free port. */
    public int port = 8000;
    /** gRPC (tune4j.v1.Tune4j) on its own port, on the same event loops; 0 picks a free port, -1 is off. */
    public int grpcPort = -1;
    public ApiKeys keys = ApiKeys.of(Map.of());
    /** Without keys the server refuses to start unless this is set; it then binds to loopback only. */
    public boolean insecure;
    /**
     * Adapter directories given to POST /v1/adapters must lie under it (null: only startup adapters);
     * it also holds uploaded files (files/) and fine-tuning jobs (jobs/), which need it.
     */
    public Path dataDir;
    /** The tokenizer file given beside the model (llama2.c checkpoints), for training jobs; null: found with the model. */
    public Path tokenizer;
    /** Adapters loaded at startup, name to directory; these directories are also allowed later. */
    public Map<String, Path> adapters = new LinkedHashMap<>();
    /** The id clients name the base model by (default: the model directory's name). */
    public String modelId;
    /** KV cache slots: sequences decoded together. */
    public int maxBatch = 8;
    /** Generation requests queued or running before new ones get 429. */
    public int maxInFlight = 64;
    /** Context per sequence (capped by the model's). */
    public int maxContext = Integer.MAX_VALUE;
    public int maxBodyBytes = 1 << 20;
    /** Largest file upload (POST /v1/files), which is held in memory while it is checked. */
    public int maxUploadBytes = 64 << 20;
    /** Largest max_tokens a request may ask for; also the default when it asks for none. */
    public int maxTokensCap = 1024;
    public long requestTimeoutMillis = 300_000;
    public long shutdownGraceMillis = 10_000;
    /** Event-loop threads (0: Netty's default). */
    public int ioThreads = 2;
    /** Sleep after each training step of a job: lets tests hold a job mid-run on a model that trains in milliseconds. */
    public long jobStepPauseMillis;
    /** A connection that reads and writes nothing this long while no request on it is answered is closed (0: never). */
    public long idleTimeoutMillis = 60_000;
    /** A stream whose client leaves the channel unwritable this long is closed and its request cancelled (0: never). */
    public long slowClientTimeoutMillis = 30_000;
    /** Streamed text a slow client may fall behind before its stream is closed and its request cancelled. */
    public long maxStreamBacklogBytes = 256 * 1024;
    /** Bytes queued in a connection's outbound buffer before it counts as unwritable (Netty's default; low mark = half). */
    public int writeBufferHighWaterMark = 64 * 1024;
    /** SO_SNDBUF of accepted connections (0: the OS default, which grows on demand). */
    public int socketSendBufferBytes;
}
