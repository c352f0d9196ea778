package io.tune4j.server;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.util.ReferenceCountUtil;

/**
 * Rejects a body larger than the limit from its Content-Length before reading it (413) and, through
 * {@link Aggregator}, a chunked body once it grows past the limit.
 */
final class LimitsHandler extends ChannelInboundHandlerAdapter {
    private final int maxBody;
    private boolean discarding;

    LimitsHandler(int maxBody) {
        this.maxBody = maxBody;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req && HttpUtil.getContentLength(req, -1L) > maxBody) {
            discarding = true;
            ctx.writeAndFlush(Http.closing(Http.error(tooLarge(maxBody)))).addListener(ChannelFutureListener.CLOSE);
        }
        if (discarding) {
            if (msg instanceof io.netty.handler.codec.http.LastHttpContent) discarding = false;
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
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
