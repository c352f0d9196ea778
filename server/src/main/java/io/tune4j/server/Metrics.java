package io.tune4j.server;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/** Counters, gauges and histograms rendered in Prometheus' text exposition format. */
public final class Metrics {
    static final double[] LATENCY_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
    /** A decode step of a small model takes milliseconds: finer buckets than request latencies. */
    static final double[] STEP_BUCKETS = {0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1};

    /** A cumulative histogram; observations are lock-free. */
    static final class Histogram {
        final double[] bounds;
        final LongAdder[] counts;
        final DoubleAdder sum = new DoubleAdder();
        final LongAdder count = new LongAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds;
            this.counts = new LongAdder[bounds.length];
            for (int i = 0; i < bounds.length; i++) counts[i] = new LongAdder();
        }

        void observe(double v) {
            for (int i = 0; i < bounds.length; i++) if (v <= bounds[i]) counts[i].increment();
            sum.add(v);
            count.increment();
        }
    }

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>(); // "endpoint\0status"
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> grpcRequests = new ConcurrentHashMap<>(); // "method\0code"
    private final Map<String, Histogram> grpcLatency = new ConcurrentHashMap<>();
    final Histogram timeToFirstToken = new Histogram(LATENCY_BUCKETS);
    /** Wall time of each batched forward step (model, sampling and handing tokens to the streams). */
    final Histogram stepSeconds = new Histogram(STEP_BUCKETS);
    final LongAdder promptTokens = new LongAdder();
    final LongAdder completionTokens = new LongAdder();
    final LongAdder steps = new LongAdder();
    final LongAdder cancelled = new LongAdder();
    final AtomicLong batchSize = new AtomicLong();
    /** Steps whose batch held sequences of more than one model (the base model and LoRA adapters). */
    final LongAdder mixedSteps = new LongAdder();
    final AtomicLong batchModels = new AtomicLong();
    final AtomicLong batchModelsPeak = new AtomicLong();
    final AtomicLong queueDepth = new AtomicLong();
    final AtomicLong freeSlots = new AtomicLong();
    final AtomicLong inFlight = new AtomicLong();
    final AtomicLong openStreams = new AtomicLong();
    /** Streamed text held for clients that read slower than it is generated ({@link SseStream}). */
    final AtomicLong streamBacklogBytes = new AtomicLong();
    final LongAdder slowClientsCut = new LongAdder();
    final LongAdder idleConnectionsClosed = new LongAdder();
    /** Generated tokens per second over the last step (all sequences of the batch together). */
    volatile double tokensPerSecond;
    private final Map<String, Gauge> gauges = new ConcurrentHashMap<>();
    private final Map<String, LabeledGauge> labeledGauges = new ConcurrentHashMap<>();

    /** A gauge read at every scrape. */
    private record Gauge(String help, DoubleSupplier value) {}

    /** A gauge with one label, its values read together at every scrape (e.g. jobs by state). */
    private record LabeledGauge(String help, String label, Supplier<? extends Map<String, ? extends Number>> values) {}

    public void request(String endpoint, int status, double seconds) {
        requests.computeIfAbsent(endpoint + "\0" + status, k -> new LongAdder()).increment();
        latency.computeIfAbsent(endpoint, k -> new Histogram(LATENCY_BUCKETS)).observe(seconds);
    }

    /** One finished gRPC call: its bare method name (Generate) and status code name (OK, CANCELLED, ...). */
    public void grpcRequest(String method, String code, double seconds) {
        grpcRequests.computeIfAbsent(method + "\0" + code, k -> new LongAdder()).increment();
        grpcLatency.computeIfAbsent(method, k -> new Histogram(LATENCY_BUCKETS)).observe(seconds);
    }

    /** Calls of a gRPC method that ended with the code so far. */
    public long grpcRequests(String method, String code) {
        LongAdder n = grpcRequests.get(method + "\0" + code);
        return n == null ? 0 : n.sum();
    }

    /** Registers a gauge read at every scrape. */
    public void gauge(String name, String help, DoubleSupplier value) {
        gauges.put(name, new Gauge(help, value));
    }

    /** Registers a gauge family {@code name{label="..."}} whose values are read together at every scrape. */
    public void gauge(String name, String help, String label, Supplier<? extends Map<String, ? extends Number>> values) {
        labeledGauges.put(name, new LabeledGauge(help, label, values));
    }

    public long freeSlots() {
        return freeSlots.get();
    }

    public long batchSize() {
        return batchSize.get();
    }

    public long streamBacklogBytes() {
        return streamBacklogBytes.get();
    }

    public String render() {
        StringBuilder b = new StringBuilder(4096);
        b.append("# HELP tune4j_requests_total HTTP requests by endpoint and status.\n# TYPE tune4j_requests_total counter\n");
        new TreeMap<>(requests).forEach((k, v) -> {
            String[] p = k.split("\0");
            b.append("tune4j_requests_total{endpoint=\"").append(p[0]).append("\",status=\"").append(p[1]).append("\"} ")
                    .append(v.sum()).append('\n');
        });
        b.append("# HELP tune4j_request_duration_seconds Time from request to the end of the response.\n"
                + "# TYPE tune4j_request_duration_seconds histogram\n");
        new TreeMap<>(latency).forEach((k, h) -> histogram(b, "tune4j_request_duration_seconds", "endpoint=\"" + k + "\"", h));
        b.append("# HELP tune4j_grpc_requests_total gRPC calls by method and status code.\n"
                + "# TYPE tune4j_grpc_requests_total counter\n");
        new TreeMap<>(grpcRequests).forEach((k, v) -> {
            String[] p = k.split("\0");
            b.append("tune4j_grpc_requests_total{method=\"").append(p[0]).append("\",code=\"").append(p[1]).append("\"} ")
                    .append(v.sum()).append('\n');
        });
        b.append("# HELP tune4j_grpc_request_duration_seconds Time from a gRPC call's start to its end.\n"
                + "# TYPE tune4j_grpc_request_duration_seconds histogram\n");
        new TreeMap<>(grpcLatency).forEach((k, h) -> histogram(b, "tune4j_grpc_request_duration_seconds", "method=\"" + k + "\"", h));
        b.append("# HELP tune4j_time_to_first_token_seconds Time from submission to the first generated token.\n"
                + "# TYPE tune4j_time_to_first_token_seconds histogram\n");
        histogram(b, "tune4j_time_to_first_token_seconds", "", timeToFirstToken);
        b.append("# HELP tune4j_step_duration_seconds Wall time of one batched decode step.\n"
                + "# TYPE tune4j_step_duration_seconds histogram\n");
        histogram(b, "tune4j_step_duration_seconds", "", stepSeconds);
        counter(b, "tune4j_prompt_tokens_total", "Prompt tokens prefilled.", promptTokens.sum());
        counter(b, "tune4j_completion_tokens_total", "Tokens generated.", completionTokens.sum());
        counter(b, "tune4j_decode_steps_total", "Batched forward steps.", steps.sum());
        counter(b, "tune4j_cancelled_sequences_total", "Sequences cancelled (client gone, timeout, shutdown).", cancelled.sum());
        gauge(b, "tune4j_tokens_per_second", "Generated tokens per second in the last step.", tokensPerSecond);
        counter(b, "tune4j_mixed_model_steps_total", "Steps whose batch mixed the base model and adapters.", mixedSteps.sum());
        gauge(b, "tune4j_batch_size", "Sequences in the running batch.", batchSize.get());
        gauge(b, "tune4j_batch_models", "Models (base, each adapter) in the last step's batch.", batchModels.get());
        gauge(b, "tune4j_batch_models_peak", "Most models seen in one step's batch.", batchModelsPeak.get());
        gauge(b, "tune4j_queue_depth", "Requests waiting for a slot.", queueDepth.get());
        gauge(b, "tune4j_free_slots", "KV cache slots free.", freeSlots.get());
        gauge(b, "tune4j_requests_in_flight", "Generation requests queued or running.", inFlight.get());
        gauge(b, "tune4j_open_streams", "Server-sent event streams open.", openStreams.get());
        gauge(b, "tune4j_stream_backlog_bytes", "Streamed text waiting for slow readers.", streamBacklogBytes.get());
        counter(b, "tune4j_slow_clients_disconnected_total", "Streams closed because the client read too slowly.",
                slowClientsCut.sum());
        counter(b, "tune4j_idle_connections_closed_total", "Keep-alive connections closed after the idle timeout.",
                idleConnectionsClosed.sum());
        new TreeMap<>(gauges).forEach((name, g) -> gauge(b, name, g.help(), g.value().getAsDouble()));
        new TreeMap<>(labeledGauges).forEach((name, g) -> {
            b.append("# HELP ").append(name).append(' ').append(g.help()).append("\n# TYPE ").append(name).append(" gauge\n");
            new TreeMap<>(g.values().get()).forEach((k, v) -> b.append(name).append('{').append(g.label()).append("=\"")
                    .append(k).append("\"} ").append(num(v.doubleValue())).append('\n'));
        });
        return b.toString();
    }

    private static void histogram(StringBuilder b, String name, String labels, Histogram h) {
        String sep = labels.isEmpty() ? "" : ",";
        for (int i = 0; i < h.bounds.length; i++) {
            b.append(name).append("_bucket{").append(labels).append(sep).append("le=\"").append(num(h.bounds[i])).append("\"} ")
                    .append(h.counts[i].sum()).append('\n');
        }
        b.append(name).append("_bucket{").append(labels).append(sep).append("le=\"+Inf\"} ").append(h.count.sum()).append('\n');
        String l = labels.isEmpty() ? "" : "{" + labels + "}";
        b.append(name).append("_sum").append(l).append(' ').append(num(h.sum.sum())).append('\n');
        b.append(name).append("_count").append(l).append(' ').append(h.count.sum()).append('\n');
    }

    private static void counter(StringBuilder b, String name, String help, long v) {
        b.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder b, String name, String help, double v) {
        b.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(num(v)).append('\n');
    }

    private static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return String.format(Locale.ROOT, "%.6g", v);
    }
}
