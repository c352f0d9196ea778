package io.tune4j.server;

import io.grpc.stub.ServerCallStreamObserver;
import io.tune4j.generate.FinishReason;
import io.tune4j.generate.GenerationResult;
import io.tune4j.grpc.v1.Finished;
import io.tune4j.grpc.v1.GenerateResponse;
import io.tune4j.grpc.v1.Usage;
import java.util.concurrent.CancellationException;

/**
 * One Generate call's response stream, fed by the scheduler thread. The scheduler must never wait
 * for a slow client, so while the transport is not ready the text is held and sent as one merged
 * delta when it is; what is held is bounded by the request's max_tokens. A client that cancels
 * cancels the scheduler job, which frees its slot at the next token boundary.
 */
final class GrpcGenerateStream implements Scheduler.Sink {
    private final ServerCallStreamObserver<GenerateResponse> out;
    private final String model;
    private final StringBuilder held = new StringBuilder();
    private volatile Scheduler.Job job;
    private boolean closed;

    GrpcGenerateStream(ServerCallStreamObserver<GenerateResponse> out, String model) {
        this.out = out;
        this.model = model;
        out.setOnCancelHandler(this::clientCancelled);
        out.setOnReadyHandler(this::drain);
    }

    /** Binds the job a cancellation must stop; called before it is submitted. */
    void bind(Scheduler.Job job) {
        this.job = job;
        if (out.isCancelled()) job.cancel();
    }

    private void clientCancelled() {
        synchronized (this) {
            closed = true;
            held.setLength(0);
        }
        Scheduler.Job j = job;
        if (j != null) j.cancel();
    }

    @Override
    public synchronized void onDelta(String text) {
        if (closed) return;
        held.append(text);
        drain();
    }

    @Override
    public synchronized void onDone(GenerationResult r) {
        if (closed) return;
        if (r.finishReason() == FinishReason.CANCELLED) {
            // cancelled by the server, unless the client's cancellation is still on its way here
            if (out.isCancelled()) closed = true;
            else fail(new Scheduler.ShutdownException("the server is shutting down"));
            return;
        }
        Finished finished = Finished.newBuilder().setFinishReason(r.finishReason().openAiName()).setModel(model)
                .setUsage(Usage.newBuilder().setPromptTokens(r.promptTokens()).setCompletionTokens(r.completionTokens())
                        .setTotalTokens(r.promptTokens() + r.completionTokens()))
                .build();
        // the end goes out even if the transport is not ready: one last bounded message
        flushHeld();
        out.onNext(GenerateResponse.newBuilder().setFinished(finished).build());
        out.onCompleted();
        closed = true;
    }

    @Override
    public synchronized void onError(RuntimeException e) {
        if (closed || e instanceof CancellationException) {
            closed = true;
            return;
        }
        fail(e);
    }

    private void fail(RuntimeException e) {
        closed = true;
        held.setLength(0);
        out.onError(GrpcStatus.of(e));
    }

    /** Sends held text when the transport can take it (scheduler thread or gRPC's onReady callback). */
    private synchronized void drain() {
        if (closed || held.length() == 0 || !out.isReady()) return;
        flushHeld();
    }

    private void flushHeld() {
        if (held.length() == 0) return;
        out.onNext(GenerateResponse.newBuilder().setText(held.toString()).build());
        held.setLength(0);
    }
}
