package io.tune4j.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * Closes a connection that has read and written nothing for the idle timeout, unless a request on
 * it is still being answered: a stream may wait for a batch slot or a long prefill without writing
 * a byte. Requests report to the handler of their connection through {@link RequestTracker}, one
 * per HTTP/1 connection or HTTP/2 stream (whose channels share the connection's event loop).
 */
final class IdleConnectionHandler extends IdleStateHandler {
    private final Metrics metrics;
    private int answering; // event loop only

    IdleConnectionHandler(long timeoutMillis, Metrics metrics) {
        super(0, 0, timeoutMillis, TimeUnit.MILLISECONDS);
        this.metrics = metrics;
    }

    @Override
    protected void channelIdle(ChannelHandlerContext ctx, IdleStateEvent evt) {
        if (answering > 0) return; // fires again after another quiet period
        metrics.idleConnectionsClosed.increment();
        ctx.close();
    }

    /** The connection's handler, or null when idle connections are kept. */
    private static IdleConnectionHandler of(Channel ch) {
        Channel connection = ch instanceof Http2StreamChannel ? ch.parent() : ch;
        return connection.pipeline().get(IdleConnectionHandler.class);
    }

    /** Marks the time between a request arriving and its response's last byte being written. */
    static final class RequestTracker extends ChannelDuplexHandler {
        private IdleConnectionHandler idle;
        private boolean open;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            idle = of(ctx.channel());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest && !open && idle != null) {
                open = true;
                idle.answering++;
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof LastHttpContent) done();
            ctx.write(msg, promise);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            done();
            super.channelInactive(ctx);
        }

        private void done() {
            if (!open) return;
            open = false;
            idle.answering--;
        }
    }
}
