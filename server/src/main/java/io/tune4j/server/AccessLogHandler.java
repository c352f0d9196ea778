package io.tune4j.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http2.Http2StreamChannel;
import java.io.PrintStream;
import java.net.SocketAddress;
import java.time.Instant;

/**
 * One structured (JSON) line per request on stderr, request metrics, and HTTP/1 keep-alive: a
 * response to a request that did not ask to keep the connection closes it once written.
 */
final class AccessLogHandler extends ChannelDuplexHandler {
    private final Metrics metrics;
    private final PrintStream log;
    private String method;
    private String path;
    private boolean keepAlive = true;
    private long startNanos;
    private int status;
    private boolean open; // a request is being answered

    AccessLogHandler(Metrics metrics, PrintStream log) {
        this.metrics = metrics;
        this.log = log;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            method = req.method().name();
            path = new QueryStringDecoder(req.uri()).path();
            keepAlive = HttpUtil.isKeepAlive(req);
            startNanos = System.nanoTime();
            status = 0;
            open = true;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse r) {
            status = r.status().code();
            if (!keepAlive) r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            else if (HttpHeaderValues.CLOSE.contentEqualsIgnoreCase(r.headers().get(HttpHeaderNames.CONNECTION, ""))) keepAlive = false;
        }
        ctx.write(msg, promise);
        if (msg instanceof LastHttpContent && open) {
            open = false;
            finish(ctx.channel(), false);
            if (!keepAlive) promise.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (open) {
            open = false;
            finish(ctx.channel(), true);
        }
        super.channelInactive(ctx);
    }

    private void finish(Channel ch, boolean aborted) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        int code = aborted && status == 0 ? 499 : status; // 499: the client went away before a response
        metrics.request(endpoint(path), code, seconds);
        ObjectNode line = Http.JSON.createObjectNode();
        line.put("ts", Instant.now().toString());
        line.put("event", "access");
        line.put("remote", String.valueOf(remote(ch)));
        line.put("proto", ch instanceof Http2StreamChannel ? "h2" : "http/1.1");
        line.put("method", method);
        line.put("path", path);
        line.put("status", code);
        line.put("ms", Math.round(seconds * 1e4) / 10.0);
        if (aborted) line.put("aborted", true);
        log.println(line);
    }

    private static SocketAddress remote(Channel ch) {
        Channel c = ch instanceof Http2StreamChannel ? ch.parent() : ch;
        return c.remoteAddress();
    }

    /** A bounded label set for metrics: known routes, everything else "other". */
    static String endpoint(String path) {
        if (path == null) return "other";
        return switch (path) {
            case "/health", "/ready", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions", "/v1/adapters",
                 "/v1/files", "/v1/fine_tuning/jobs" -> path;
            default -> {
                if (path.startsWith("/v1/adapters/")) yield "/v1/adapters/{name}";
                if (path.startsWith("/v1/files/")) yield path.endsWith("/content") ? "/v1/files/{id}/content" : "/v1/files/{id}";
                if (path.startsWith("/v1/fine_tuning/jobs/")) {
                    if (path.endsWith("/events")) yield "/v1/fine_tuning/jobs/{id}/events";
                    if (path.endsWith("/cancel")) yield "/v1/fine_tuning/jobs/{id}/cancel";
                    yield "/v1/fine_tuning/jobs/{id}";
                }
                yield "other";
            }
        };
    }
}
