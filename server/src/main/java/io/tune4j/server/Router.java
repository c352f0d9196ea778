package io.tune4j.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;

/**
 * Dispatches by method and path to the endpoint handlers, turns their exceptions into OpenAI error
 * objects, and cancels a running generation when its client goes away.
 */
final class Router extends SimpleChannelInboundHandler<ApiRequest> {
    private final Services s;
    private final CompletionsEndpoint completions;
    private final AdaptersEndpoint adapters;
    private final FilesEndpoint files;
    private final JobsEndpoint jobs;
    private Scheduler.Job current;

    Router(Services s) {
        this.s = s;
        this.completions = new CompletionsEndpoint(s);
        this.adapters = new AdaptersEndpoint(s);
        this.files = new FilesEndpoint(s);
        this.jobs = new JobsEndpoint(s);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ApiRequest req) {
        try {
            route(ctx, req);
        } catch (ApiException e) {
            ctx.writeAndFlush(ApiResponse.error(e));
        } catch (io.tune4j.server.jobs.JobException e) {
            ctx.writeAndFlush(ApiResponse.error(ApiException.from(e)));
        } catch (RuntimeException e) {
            System.err.println("tune4j-server: " + req.method() + " " + req.path() + " failed: " + e);
            ctx.writeAndFlush(ApiResponse.error(new ApiException(HttpResponseStatus.INTERNAL_SERVER_ERROR, "server_error",
                    null, null, "internal error: " + e.getMessage())));
        }
    }

    private void route(ChannelHandlerContext ctx, ApiRequest req) {
        String p = req.path();
        switch (p) {
            case "/health" -> { method(req, "GET"); ctx.writeAndFlush(ApiResponse.json(status("ok"))); }
            case "/ready" -> {
                method(req, "GET");
                if (!s.scheduler().accepting()) {
                    throw new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", null, "not_ready",
                            "the server is not accepting requests");
                }
                ctx.writeAndFlush(ApiResponse.json(status("ready").put("model", s.modelId())));
            }
            case "/metrics" -> {
                method(req, "GET");
                ctx.writeAndFlush(new ApiResponse(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                        s.metrics().render().getBytes(StandardCharsets.UTF_8)));
            }
            case "/v1/models" -> { method(req, "GET"); ctx.writeAndFlush(ApiResponse.json(models())); }
            case "/v1/completions" -> { method(req, "POST"); current = completions.handle(ctx, req, false); }
            case "/v1/chat/completions" -> { method(req, "POST"); current = completions.handle(ctx, req, true); }
            case "/v1/adapters" -> { method(req, "POST"); adapters.load(ctx, req); }
            case "/v1/files" -> {
                if (method(req, "GET", "POST").equals("GET")) files.list(ctx); else files.upload(ctx, req);
            }
            case "/v1/fine_tuning/jobs" -> {
                if (method(req, "GET", "POST").equals("GET")) jobs.list(ctx, req); else jobs.create(ctx, req);
            }
            default -> {
                if (p.startsWith("/v1/adapters/")) {
                    method(req, "DELETE");
                    adapters.unload(ctx, p.substring("/v1/adapters/".length()));
                } else if (p.startsWith("/v1/files/")) {
                    file(ctx, req, p.substring("/v1/files/".length()).split("/", -1));
                } else if (p.startsWith("/v1/fine_tuning/jobs/")) {
                    job(ctx, req, p.substring("/v1/fine_tuning/jobs/".length()).split("/", -1));
                } else {
                    throw noRoute(req);
                }
            }
        }
    }

    /** /v1/files/{id} and /v1/files/{id}/content. */
    private void file(ChannelHandlerContext ctx, ApiRequest req, String[] parts) {
        if (parts.length == 1) {
            if (method(req, "GET", "DELETE").equals("GET")) files.get(ctx, parts[0]); else files.delete(ctx, parts[0]);
        } else if (parts.length == 2 && parts[1].equals("content")) {
            method(req, "GET");
            files.content(ctx, parts[0]);
        } else {
            throw noRoute(req);
        }
    }

    /** /v1/fine_tuning/jobs/{id}, .../{id}/cancel and .../{id}/events. */
    private void job(ChannelHandlerContext ctx, ApiRequest req, String[] parts) {
        if (parts.length == 1) {
            method(req, "GET");
            jobs.get(ctx, parts[0]);
        } else if (parts.length == 2 && parts[1].equals("cancel")) {
            method(req, "POST");
            jobs.cancel(ctx, parts[0]);
        } else if (parts.length == 2 && parts[1].equals("events")) {
            method(req, "GET");
            jobs.events(ctx, req, parts[0]);
        } else {
            throw noRoute(req);
        }
    }

    private static ApiException noRoute(ApiRequest req) {
        return ApiException.notFound("not_found", "no route for " + req.method() + " " + req.path());
    }

    /** The request's method when it is one of those allowed, else 405. */
    private static String method(ApiRequest req, String... allowed) {
        for (String a : allowed) if (req.method().equals(a)) return a;
        throw new ApiException(HttpResponseStatus.METHOD_NOT_ALLOWED, "invalid_request_error", null, "method_not_allowed",
                req.path() + " accepts only " + String.join(", ", allowed));
    }

    private static ObjectNode status(String st) {
        return Http.JSON.createObjectNode().put("status", st);
    }

    private ObjectNode models() {
        ObjectNode root = Http.JSON.createObjectNode().put("object", "list");
        ArrayNode data = root.putArray("data");
        data.addObject().put("id", s.modelId()).put("object", "model").put("created", s.createdEpochSeconds())
                .put("owned_by", "tune4j");
        for (String name : s.adapters().all().keySet()) {
            data.addObject().put("id", name).put("object", "model").put("created", s.createdEpochSeconds())
                    .put("owned_by", "tune4j").put("parent", s.modelId());
        }
        return root;
    }

    /** A stream that stopped writing for a slow reader resumes when the channel has room again. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        SseStream stream = ctx.channel().attr(SseStream.CURRENT).get();
        if (stream != null) stream.writabilityChanged();
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (current != null) current.cancel();
        super.channelInactive(ctx);
    }
}
