package io.tune4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.tune4j.server.jobs.JobEvent;
import io.tune4j.server.jobs.JobInfo;
import io.tune4j.server.jobs.JobRequest;
import io.tune4j.server.jobs.JobService;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * /v1/fine_tuning/jobs over {@link JobService}, in OpenAI's shapes: create, list, get, cancel, and
 * the events (a list page, or server-sent events with {@code Accept: text/event-stream} or
 * {@code ?stream=true}). The request is checked here; the service's calls run off the event loop.
 */
final class JobsEndpoint {
    static final int DEFAULT_LIMIT = 20;
    static final int MAX_LIMIT = 100;

    private final Services s;

    JobsEndpoint(Services s) {
        this.s = s;
    }

    void create(ChannelHandlerContext ctx, ApiRequest req) {
        JobService jobs = service();
        JobRequest r = request(req.body());
        OffLoop.respond(s, ctx, () -> ApiResponse.json(JobJson.job(jobs.create(r))));
    }

    void list(ChannelHandlerContext ctx, ApiRequest req) {
        JobService jobs = service();
        int limit = limit(req);
        String after = req.queryParam("after");
        OffLoop.respond(s, ctx, () -> {
            List<JobInfo> page = jobs.list(limit + 1, after); // one more than asked says whether another page follows
            List<ObjectNode> items = new ArrayList<>();
            for (JobInfo j : page.subList(0, Math.min(limit, page.size()))) items.add(JobJson.job(j));
            return ApiResponse.json(JobJson.list(items, page.size() > limit));
        });
    }

    void get(ChannelHandlerContext ctx, String id) {
        JobService jobs = service();
        OffLoop.respond(s, ctx, () -> ApiResponse.json(JobJson.job(jobs.get(id).orElseThrow(() -> notFound(id)))));
    }

    void cancel(ChannelHandlerContext ctx, String id) {
        JobService jobs = service();
        OffLoop.respond(s, ctx, () -> ApiResponse.json(JobJson.job(jobs.cancel(id))));
    }

    void events(ChannelHandlerContext ctx, ApiRequest req, String id) {
        JobService jobs = service();
        String accept = req.headers().get(HttpHeaderNames.ACCEPT, "");
        boolean stream = accept.contains("text/event-stream") || "true".equalsIgnoreCase(req.queryParam("stream"));
        if (stream) {
            long afterSeq = afterSeq(req);
            OffLoop.respond(s, ctx, () -> {
                if (jobs.get(id).isEmpty()) throw notFound(id);
                new JobEventStream(s, ctx, id).start(afterSeq);
                return null;
            });
            return;
        }
        int limit = limit(req);
        String after = req.queryParam("after");
        long before = after == null ? Long.MAX_VALUE : JobJson.seqOf(after);
        if (before < 0) throw ApiException.badRequest("after", "after must be an event id (ftevent-...)");
        OffLoop.respond(s, ctx, () -> {
            List<JobEvent> all = jobs.events(id);
            // newest first, as OpenAI lists them; after= pages towards older events
            List<ObjectNode> items = new ArrayList<>();
            boolean more = false;
            for (int i = all.size() - 1; i >= 0; i--) {
                JobEvent e = all.get(i);
                if (e.seq() >= before) continue;
                if (items.size() == limit) {
                    more = true;
                    break;
                }
                items.add(JobJson.event(id, e));
            }
            return ApiResponse.json(JobJson.list(items, more));
        });
    }

    private JobService service() {
        if (s.jobs() == null) {
            throw new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", null, "no_data_dir",
                    "training jobs need the server to run with --data-dir");
        }
        return s.jobs();
    }

    /** The body as a job request; the service checks the values (files, model, hyperparameters). */
    private JobRequest request(JsonNode b) {
        if (b == null || !b.isObject()) throw ApiException.badRequest(null, "expected a JSON object as the request body");
        String model = text(b, "model", true);
        String trainingFile = text(b, "training_file", true);
        String validationFile = text(b, "validation_file", false);
        String suffix = text(b, "suffix", false);
        Long seed = null;
        if (b.hasNonNull("seed")) {
            if (!b.get("seed").canConvertToLong() || !b.get("seed").isIntegralNumber()) {
                throw ApiException.badRequest("seed", "seed must be an integer");
            }
            seed = b.get("seed").asLong();
        }
        String type = null;
        Map<String, Object> hp = new LinkedHashMap<>();
        merge(hp, b.get("hyperparameters"), "hyperparameters"); // OpenAI's older top-level form
        JsonNode m = b.get("method");
        if (m != null && !m.isNull()) {
            if (!m.isObject()) throw ApiException.badRequest("method", "method must be an object {type, hyperparameters}");
            type = text(m, "type", false);
            if (type == null) throw ApiException.badRequest("method.type", "method.type is required (lora, adapter, prefix or full)");
            merge(hp, m.get("hyperparameters"), "method.hyperparameters");
            // OpenAI nests them under the type: method.supervised.hyperparameters
            JsonNode nested = m.get(type);
            if (nested != null && !nested.isNull()) {
                if (!nested.isObject()) throw ApiException.badRequest("method." + type, "method." + type + " must be an object");
                merge(hp, nested.get("hyperparameters"), "method." + type + ".hyperparameters");
            }
        }
        return new JobRequest(model, trainingFile, validationFile, type, hp, suffix, seed);
    }

    @SuppressWarnings("unchecked")
    private static void merge(Map<String, Object> into, JsonNode hp, String field) {
        if (hp == null || hp.isNull()) return;
        if (!hp.isObject()) throw ApiException.badRequest(field, field + " must be an object");
        for (Iterator<Map.Entry<String, JsonNode>> it = hp.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            into.put(e.getKey(), Http.JSON.convertValue(e.getValue(), Object.class));
        }
    }

    private static String text(JsonNode b, String field, boolean required) {
        JsonNode v = b.get(field);
        if (v == null || v.isNull()) {
            if (required) throw ApiException.badRequest(field, field + " is required");
            return null;
        }
        if (!v.isTextual()) throw ApiException.badRequest(field, field + " must be a string");
        return v.asText();
    }

    private static int limit(ApiRequest req) {
        String l = req.queryParam("limit");
        if (l == null) return DEFAULT_LIMIT;
        try {
            int n = Integer.parseInt(l);
            if (n >= 1 && n <= MAX_LIMIT) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw ApiException.badRequest("limit", "limit must be an integer between 1 and " + MAX_LIMIT + ", got '" + l + "'");
    }

    /** Where a stream starts: after Last-Event-ID (a reconnecting EventSource) or ?after_seq=N, else from the first event. */
    private static long afterSeq(ApiRequest req) {
        String v = req.headers().get("Last-Event-ID");
        String field = "Last-Event-ID";
        if (v == null) {
            v = req.queryParam("after_seq");
            field = "after_seq";
        }
        if (v == null) return 0;
        try {
            long n = Long.parseLong(v.strip());
            if (n >= 0) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw ApiException.badRequest(field, field + " must be an event sequence number >= 0, got '" + v + "'");
    }

    private static ApiException notFound(String id) {
        return ApiException.notFound("not_found", "no job with id '" + id + "'");
    }
}
