package io.tune4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * POST /v1/adapters {name, path} loads an adapter directory: a LoRA adapter at the next token
 * boundary (it joins the running batch), any other kind once the running batch has drained (it
 * changes the model for every row). DELETE /v1/adapters/{name} forgets the name at once (new
 * requests for it get 404); requests already using a LoRA adapter finish with it and its slot is
 * freed after them, and another kind is detached at the next idle point.
 */
final class AdaptersEndpoint {
    private final Services s;

    AdaptersEndpoint(Services s) {
        this.s = s;
    }

    void load(ChannelHandlerContext ctx, ApiRequest req) {
        JsonNode body = req.body();
        if (body == null || !body.isObject()) throw ApiException.badRequest(null, "expected a JSON object {name, path}");
        String name = body.path("name").asText(null);
        register(s.scheduler(), s.adapters(), s.modelId(), name, body.path("path").asText(null)).whenComplete((ok, err) -> {
            if (err == null) {
                ctx.writeAndFlush(ApiResponse.json(Http.JSON.createObjectNode().put("id", name).put("object", "model")
                        .put("owned_by", "tune4j").put("parent", s.modelId()).put("loaded", true)));
                return;
            }
            Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
            HttpResponseStatus st = e instanceof Scheduler.ShutdownException ? HttpResponseStatus.SERVICE_UNAVAILABLE
                    : HttpResponseStatus.BAD_REQUEST;
            ctx.writeAndFlush(ApiResponse.error(new ApiException(st, "invalid_request_error", "path", "adapter_load_failed",
                    "cannot load adapter '" + name + "': " + e.getMessage())));
        });
    }

    /**
     * The one way an adapter becomes callable by name, for POST /v1/adapters and for finished
     * training jobs alike: the name and the directory are checked (it must lie under the data
     * directory or be a startup adapter), then the scheduler loads it and the name is registered.
     * Throws {@link ApiException} for a bad name or path; the future fails when loading fails.
     */
    static CompletableFuture<Void> register(Scheduler scheduler, AdapterRegistry registry, String baseId, String name,
                                            String path) {
        AdapterRegistry.checkName(name, baseId);
        Path dir = registry.resolveAllowed(path);
        if (registry.get(name) != null) {
            throw new ApiException(HttpResponseStatus.CONFLICT, "invalid_request_error", "name", "adapter_exists",
                    "an adapter named '" + name + "' is already loaded; delete it first");
        }
        return scheduler.load(name, dir).thenRun(() -> registry.put(name, dir));
    }

    void unload(ChannelHandlerContext ctx, String name) {
        if (!s.adapters().remove(name)) throw ApiException.notFound("model_not_found", "no adapter named '" + name + "'");
        s.scheduler().unload(name);
        ctx.writeAndFlush(ApiResponse.json(Http.JSON.createObjectNode().put("id", name).put("object", "model")
                .put("deleted", true)));
    }
}
