package io.tune4j.server;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.tune4j.server.jobs.JobEvent;
import io.tune4j.server.jobs.JobEventListener;
import io.tune4j.server.jobs.JobInfo;

/**
 * GET /v1/fine_tuning/jobs/{id}/events as server-sent events: the job's events so far, then each
 * new one as it happens ({@code id:} is the event's sequence number, so a client that reconnects
 * with Last-Event-ID carries on where it was), then the job's final state and {@code [DONE]}.
 * Events arrive on the job service's threads; Netty's writes are thread-safe and never block them.
 */
final class JobEventStream implements JobEventListener {
    private final Services s;
    private final ChannelHandlerContext ctx;
    private final String jobId;
    private AutoCloseable handle;
    private boolean over; // the stream ended or the client left

    JobEventStream(Services s, ChannelHandlerContext ctx, String jobId) {
        this.s = s;
        this.ctx = ctx;
        this.jobId = jobId;
    }

    /** Sends the headers and starts following the job (on the blocking executor: replay reads the disk). */
    void start(long afterSeq) {
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        HttpUtil.setTransferEncodingChunked(r, true);
        ctx.writeAndFlush(r);
        s.metrics().openStreams.incrementAndGet();
        ctx.channel().closeFuture().addListener(f -> clientGone());
        AutoCloseable h;
        try {
            h = s.jobs().watch(jobId, afterSeq, this);
        } catch (RuntimeException e) {
            fail(OffLoop.toApi(e));
            return;
        }
        boolean close;
        synchronized (this) {
            handle = h;
            close = over;
        }
        if (close) closeHandle();
    }

    @Override
    public void onEvent(JobEvent e) {
        synchronized (this) {
            if (over) return;
        }
        write("id: " + e.seq() + "\ndata: " + JobJson.event(jobId, e) + "\n\n");
    }

    @Override
    public void onEnd(JobInfo job) {
        synchronized (this) {
            if (over) return;
            over = true;
        }
        write("data: " + JobJson.job(job) + "\n\ndata: [DONE]\n\n");
        end();
    }

    private void fail(ApiException e) {
        synchronized (this) {
            if (over) return;
            over = true;
        }
        write("data: " + Http.errorBody(e) + "\n\ndata: [DONE]\n\n");
        end();
    }

    private void end() {
        ctx.writeAndFlush(new DefaultLastHttpContent());
        s.metrics().openStreams.decrementAndGet();
        // from inside the service's callback closing the handle would re-enter it: leave that to the blocking pool
        try {
            s.blocking().execute(this::closeHandle);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            closeHandle();
        }
    }

    private void clientGone() {
        boolean wasOpen;
        synchronized (this) {
            wasOpen = !over;
            over = true;
        }
        if (wasOpen) s.metrics().openStreams.decrementAndGet();
        closeHandle();
    }

    private void closeHandle() {
        AutoCloseable h;
        synchronized (this) {
            h = handle;
            handle = null;
        }
        if (h == null) return;
        try {
            h.close();
        } catch (Exception e) {
            System.err.println("tune4j-server: closing a job event stream failed: " + e);
        }
    }

    private void write(String text) {
        ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(Http.utf8(text))));
    }
}
