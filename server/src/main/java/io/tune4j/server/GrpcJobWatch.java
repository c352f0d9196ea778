package io.tune4j.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.tune4j.grpc.v1.WatchJobResponse;
import io.tune4j.server.jobs.JobEvent;
import io.tune4j.server.jobs.JobEventListener;
import io.tune4j.server.jobs.JobInfo;
import java.util.ArrayDeque;

/**
 * One WatchJob call: events arrive on the job service's threads and must not wait for the client,
 * so they queue while the transport is not ready. The queue is bounded: a client that falls further
 * behind is told to resume from the last sequence number it got, rather than the server holding a
 * training run's whole log for it.
 */
final class GrpcJobWatch implements JobEventListener {
    static final int MAX_QUEUED = 4096;

    private final ServerCallStreamObserver<WatchJobResponse> out;
    private final ArrayDeque<WatchJobResponse> queue = new ArrayDeque<>();
    private AutoCloseable handle;
    private long lastSentSeq;
    private boolean ended;   // the job ended: complete once the queue is sent
    private boolean closed;  // the call is over: nothing more goes out

    GrpcJobWatch(ServerCallStreamObserver<WatchJobResponse> out, long afterSeq) {
        this.out = out;
        this.lastSentSeq = afterSeq;
        out.setOnCancelHandler(() -> {
            synchronized (this) {
                closed = true;
                queue.clear();
            }
            stopWatching();
        });
        out.setOnReadyHandler(this::drain);
    }

    /** The service's handle for this watch; closed when the call ends. */
    void bind(AutoCloseable h) {
        boolean over;
        synchronized (this) {
            handle = h;
            over = closed;
        }
        if (over) stopWatching();
    }

    @Override
    public void onEvent(JobEvent event) {
        boolean overflow;
        synchronized (this) {
            if (closed || ended) return;
            queue.add(WatchJobResponse.newBuilder().setEvent(GrpcJobMessages.event(event)).build());
            overflow = queue.size() > MAX_QUEUED;
            if (overflow) {
                closed = true;
                queue.clear();
                out.onError(Status.RESOURCE_EXHAUSTED.withDescription("the client reads events more slowly than the job "
                        + "writes them; call WatchJob again with after_seq=" + lastSentSeq).asRuntimeException());
            }
        }
        if (overflow) stopWatchingLater();
        else drain();
    }

    @Override
    public void onEnd(JobInfo job) {
        synchronized (this) {
            if (closed || ended) return;
            ended = true;
            queue.add(WatchJobResponse.newBuilder().setFinished(GrpcJobMessages.job(job)).build());
        }
        drain();
    }

    /** Fails the call (the service refused the watch) unless it already ended. */
    synchronized void fail(RuntimeException e) {
        if (closed) return;
        closed = true;
        queue.clear();
        out.onError(GrpcStatus.of(e));
    }

    private void drain() {
        boolean done = false;
        synchronized (this) {
            if (closed) return;
            while (!queue.isEmpty() && out.isReady()) {
                WatchJobResponse r = queue.poll();
                if (r.hasEvent()) lastSentSeq = r.getEvent().getSeq();
                out.onNext(r);
            }
            if (ended && queue.isEmpty()) {
                out.onCompleted();
                closed = true;
                done = true;
            }
        }
        if (done) stopWatchingLater();
    }

    /** From inside the service's own callback, closing its handle could re-enter it: close on another thread. */
    private void stopWatchingLater() {
        java.util.concurrent.ForkJoinPool.commonPool().execute(this::stopWatching);
    }

    private void stopWatching() {
        AutoCloseable h;
        synchronized (this) {
            h = handle;
            handle = null;
        }
        if (h == null) return;
        try {
            h.close();
        } catch (Exception e) {
            System.err.println("tune4j-server: closing a job watch failed: " + e);
        }
    }
}
