package io.tune4j.server;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;

/**
 * Rejects a body larger than its limit (413): from its Content-Length before reading it, else once
 * a chunked body grows past it. File uploads (POST /v1/files) have their own, larger limit; the
 * {@link Aggregator} behind this handler is sized for the larger of the two.
 */
final class LimitsHandler extends ChannelInboundHandlerAdapter {
    private final int maxBody;
    private final int maxUpload;
    private int limit;
    private long received;
    private boolean discarding;
    private long discarded;
    private boolean answered;

    // how much of a rejected body is read (and dropped) before the connection closes anyway
    private static final long MAX_DISCARD = 64L << 20;
    private static final long DISCARD_SECONDS = 5;

    LimitsHandler(int maxBody, int maxUpload) {
        this.maxBody = maxBody;
        this.maxUpload = maxUpload;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            limit = ApiRequest.isUpload(req.method().name(), new QueryStringDecoder(req.uri()).path()) ? maxUpload : maxBody;
            received = 0;
            if (HttpUtil.getContentLength(req, -1L) > limit) reject(ctx);
        }
        if (!discarding && msg instanceof HttpContent c) {
            received += c.content().readableBytes();
            if (received > limit) reject(ctx);
        }
        if (discarding) {
            if (msg instanceof HttpContent c) discarded += c.content().readableBytes();
            ReferenceCountUtil.release(msg);
            if (msg instanceof LastHttpContent || discarded > MAX_DISCARD) answerTooLarge(ctx);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    // The 413 waits for the end of the body it rejects: answered mid-upload, a client can take the
    // connection as reusable and send its next request into the close, and closing with unread
    // bytes makes the kernel reset the connection under the answer.
    private void reject(ChannelHandlerContext ctx) {
        discarding = true;
        discarded = 0;
        answered = false;
        // a client that never finishes its body is answered (and closed) anyway
        ctx.executor().schedule(() -> answerTooLarge(ctx), DISCARD_SECONDS, TimeUnit.SECONDS);
    }

    private void answerTooLarge(ChannelHandlerContext ctx) {
        if (answered || !ctx.channel().isOpen()) return;
        answered = true;
        ctx.writeAndFlush(Http.closing(Http.error(tooLarge(limit)))).addListener(ChannelFutureListener.CLOSE);
    }

    static ApiException tooLarge(int maxBody) {
        return new ApiException(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error", null,
                "request_too_large", "the request body exceeds " + maxBody + " bytes");
    }

    /** Answers an over-long chunked body with the same OpenAI-style 413. */
    static final class Aggregator extends HttpObjectAggregator {
        private final int maxBody;

        Aggregator(int maxBody) {
            super(maxBody);
            this.maxBody = maxBody;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            ctx.writeAndFlush(Http.closing(Http.error(tooLarge(maxBody)))).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
