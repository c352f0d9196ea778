package io.tune4j.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The outbound side of one server-sent-events response. The scheduler thread hands it text as it
 * becomes final and never waits: the text is kept here and written by the channel's event loop
 * only while the channel is writable, so a client that reads slowly fills this backlog instead of
 * Netty's outbound buffer. Everything that piled up while the channel was full goes out as one
 * event when it drains ({@link #writabilityChanged()}, relayed by {@link Router}). A client that
 * falls more than {@code maxBacklogBytes} behind, or leaves the channel unwritable for
 * {@code stallMillis}, is cut off: the channel is closed, which cancels the request.
 */
final class SseStream {
    /** The stream a channel is answering now, for its writability events. */
    static final AttributeKey<SseStream> CURRENT = AttributeKey.valueOf("tune4j.sse-stream");
    private static final byte[] DATA = Http.utf8("data: ");
    private static final byte[] DONE = Http.utf8("data: [DONE]\n\n");

    /** Thrown to the scheduler when the stream can take no more text; the scheduler then cancels the request. */
    static final class ClientGoneException extends IllegalStateException {
        ClientGoneException(String m) {
            super(m);
        }
    }

    private final ChannelHandlerContext ctx;
    private final EventExecutor loop;
    private final Metrics metrics;
    private final Function<String, ObjectNode> deltaEvent;
    private final long maxBacklogBytes;
    private final long stallMillis;

    // shared between the scheduler thread and the event loop: guarded by this
    private StringBuilder backlog = new StringBuilder();
    private long backlogBytes;
    private boolean drainQueued;
    private List<ObjectNode> lastEvents; // set when the generation has ended
    private volatile boolean cutOff;

    // event loop only
    private boolean finished;
    private ScheduledFuture<?> stallCheck;

    /** deltaEvent frames a piece of text as one event (a completion or chat chunk). */
    SseStream(ChannelHandlerContext ctx, Metrics metrics, ServerOptions o, Function<String, ObjectNode> deltaEvent) {
        this.ctx = ctx;
        this.loop = ctx.executor();
        this.metrics = metrics;
        this.deltaEvent = deltaEvent;
        this.maxBacklogBytes = o.maxStreamBacklogBytes;
        this.stallMillis = o.slowClientTimeoutMillis;
    }

    /** Sends the response head and the events that precede any text (any thread). */
    void open(HttpResponse head, List<ObjectNode> firstEvents) {
        metrics.openStreams.incrementAndGet();
        loop.execute(() -> {
            ctx.channel().attr(CURRENT).set(this);
            ctx.write(head);
            for (ObjectNode e : firstEvents) write(e);
            ctx.flush();
        });
    }

    /** Queues text (scheduler thread); throws {@link ClientGoneException} when the client is gone or too far behind. */
    void text(String text) {
        if (cutOff || !ctx.channel().isActive()) throw new ClientGoneException("client gone");
        long bytes = Http.utf8Length(text);
        boolean schedule;
        synchronized (this) {
            backlog.append(text);
            backlogBytes += bytes;
            if (backlogBytes > maxBacklogBytes) {
                cutOff = true;
                loop.execute(() -> cutOff("fell more than " + maxBacklogBytes + " bytes behind the stream"));
            }
            metrics.streamBacklogBytes.addAndGet(bytes);
            schedule = !drainQueued;
            drainQueued = true;
        }
        if (cutOff) throw new ClientGoneException("client too slow");
        if (schedule) loop.execute(this::drain);
    }

    /** Ends the stream after the queued text with these events and [DONE] (any thread). */
    void end(List<ObjectNode> events) {
        synchronized (this) {
            lastEvents = events;
            drainQueued = true;
        }
        loop.execute(this::drain);
    }

    /** The generation ended with nothing more to send: the client left, or was cut off (any thread). */
    void discard() {
        loop.execute(() -> finish(false));
    }

    /** Whether the stream gave up on its client (the request's cancellation is then not the server's doing). */
    boolean cutOff() {
        return cutOff;
    }

    /** The channel's writability changed (event loop): resume writing when it has room again. */
    void writabilityChanged() {
        if (finished || !ctx.channel().isWritable()) return;
        if (stallCheck != null) {
            stallCheck.cancel(false);
            stallCheck = null;
        }
        drain();
    }

    private void drain() {
        if (finished) return;
        Channel ch = ctx.channel();
        if (!ch.isActive()) {
            finish(false);
            return;
        }
        if (!ch.isWritable()) {
            // drainQueued stays set: text piles up without waking the loop until the channel drains
            watchStall();
            return;
        }
        String text;
        List<ObjectNode> last;
        synchronized (this) {
            text = backlog.toString();
            long bytes = backlogBytes;
            backlog.setLength(0);
            backlogBytes = 0;
            last = lastEvents;
            drainQueued = false;
            metrics.streamBacklogBytes.addAndGet(-bytes);
        }
        if (!text.isEmpty()) write(deltaEvent.apply(text));
        if (last == null) {
            ctx.flush();
            return;
        }
        for (ObjectNode e : last) write(e);
        ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(DONE)));
        ctx.writeAndFlush(new DefaultLastHttpContent());
        finish(false);
    }

    private void watchStall() {
        if (stallCheck != null || stallMillis <= 0) return;
        stallCheck = loop.schedule(() -> {
            stallCheck = null;
            if (!finished && !ctx.channel().isWritable()) cutOff("read nothing for " + stallMillis + " ms");
        }, stallMillis, TimeUnit.MILLISECONDS);
    }

    /** Gives up on a client that does not keep up (event loop): closing the channel cancels its request. */
    private void cutOff(String why) {
        if (finished) return;
        cutOff = true;
        metrics.slowClientsCut.increment();
        System.err.println("tune4j-server: closing a stream to " + ctx.channel().remoteAddress() + ": the client " + why);
        finish(true);
    }

    private void finish(boolean close) {
        if (finished) return;
        finished = true;
        if (stallCheck != null) stallCheck.cancel(false);
        synchronized (this) {
            metrics.streamBacklogBytes.addAndGet(-backlogBytes);
            backlog = new StringBuilder(0);
            backlogBytes = 0;
        }
        metrics.openStreams.decrementAndGet();
        Channel ch = ctx.channel();
        if (ch.attr(CURRENT).get() == this) ch.attr(CURRENT).set(null);
        if (close) ch.close();
    }

    private void write(ObjectNode json) {
        byte[] body = Http.bytes(json);
        byte[] framed = new byte[DATA.length + body.length + 2];
        System.arraycopy(DATA, 0, framed, 0, DATA.length);
        System.arraycopy(body, 0, framed, DATA.length, body.length);
        framed[framed.length - 2] = '\n';
        framed[framed.length - 1] = '\n';
        ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(framed)));
    }
}
