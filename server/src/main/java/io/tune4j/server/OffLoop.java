package io.tune4j.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.tune4j.server.jobs.JobException;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/**
 * Runs an endpoint's disk work (files, job state) on the server's blocking executor, never on an
 * event loop, and writes its response or its error from there (Netty's writes are thread-safe).
 */
final class OffLoop {
    private OffLoop() {}

    /** @param work returns the response, or null when it wrote its own (a stream) */
    static void respond(Services s, ChannelHandlerContext ctx, Supplier<ApiResponse> work) {
        try {
            s.blocking().execute(() -> {
                ApiResponse r;
                try {
                    r = work.get();
                } catch (RuntimeException e) {
                    r = ApiResponse.error(toApi(e));
                }
                if (r != null) ctx.writeAndFlush(r);
            });
        } catch (RejectedExecutionException e) {
            ctx.writeAndFlush(ApiResponse.error(new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", null,
                    "shutting_down", "the server is shutting down")));
        }
    }

    static ApiException toApi(RuntimeException e) {
        if (e instanceof ApiException a) return a;
        if (e instanceof JobException j) return ApiException.from(j);
        System.err.println("tune4j-server: request failed: " + e);
        return new ApiException(HttpResponseStatus.INTERNAL_SERVER_ERROR, "server_error", null, null,
                "internal error: " + e.getMessage());
    }
}
