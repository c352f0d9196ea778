package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.tune4j.generate.FinishReason;
import io.tune4j.generate.GenerationResult;
import io.tune4j.grpc.v1.GenerateResponse;
import io.tune4j.grpc.v1.WatchJobResponse;
import io.tune4j.server.jobs.JobEvent;
import io.tune4j.server.jobs.JobInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Flow control of the two server-streaming calls, against a transport that says when it is ready:
 * nothing waits for a slow client, held output is bounded, and cancellation reaches the producer.
 */
class GrpcStreamFlowTest {
    /** A server stream whose readiness the test sets; records what the call sends. */
    static final class Transport<T> extends ServerCallStreamObserver<T> {
        final List<T> sent = new ArrayList<>();
        Throwable error;
        boolean completed;
        boolean ready = true;
        boolean cancelled;
        Runnable onReady = () -> {};
        Runnable onCancel = () -> {};

        void becomeReady() {
            ready = true;
            onReady.run();
        }

        void cancel() {
            cancelled = true;
            onCancel.run();
        }

        @Override public boolean isCancelled() { return cancelled; }
        @Override public void setOnCancelHandler(Runnable r) { onCancel = r; }
        @Override public void setCompression(String c) {}
        @Override public boolean isReady() { return ready; }
        @Override public void setOnReadyHandler(Runnable r) { onReady = r; }
        @Override public void disableAutoInboundFlowControl() {}
        @Override public void request(int n) {}
        @Override public void setMessageCompression(boolean enable) {}
        @Override public void onNext(T value) { sent.add(value); }
        @Override public void onError(Throwable t) { error = t; }
        @Override public void onCompleted() { completed = true; }
    }

    static GenerationResult result(String text, FinishReason reason) {
        return new GenerationResult(text, new int[] {5, 6, 7}, 4, reason);
    }

    @Test
    void generateHoldsTextWhileNotReadyAndSendsItMerged() {
        Transport<GenerateResponse> t = new Transport<>();
        GrpcGenerateStream s = new GrpcGenerateStream(t, "m");
        s.onDelta("Once");
        t.ready = false;
        s.onDelta(" upon");
        s.onDelta(" a");
        assertEquals(1, t.sent.size(), "nothing more goes out while the transport is full");
        t.becomeReady();
        assertEquals(List.of("Once", " upon a"), texts(t.sent));
        t.ready = false;
        s.onDelta(" time");
        s.onDone(result("Once upon a time", FinishReason.LENGTH));
        assertEquals(List.of("Once", " upon a", " time"), texts(t.sent), "the end flushes what is held");
        GenerateResponse last = t.sent.get(t.sent.size() - 1);
        assertEquals("length", last.getFinished().getFinishReason());
        assertEquals(7, last.getFinished().getUsage().getTotalTokens());
        assertTrue(t.completed);
    }

    @Test
    void generateCancelledByTheClientCancelsTheJobAndSendsNothingMore() {
        Transport<GenerateResponse> t = new Transport<>();
        GrpcGenerateStream s = new GrpcGenerateStream(t, "m");
        Scheduler.Job job = new Scheduler.Job("m", null, tok -> new int[] {1}, null, s, 1_000_000_000L);
        s.bind(job);
        s.onDelta("a");
        t.cancel();
        assertTrue(job.cancelRequested);
        s.onDelta("b");
        s.onDone(result("ab", FinishReason.CANCELLED));
        assertEquals(1, t.sent.size());
        assertEquals(null, t.error);
        assertTrue(!t.completed);
    }

    @Test
    void generateCutByShutdownIsUnavailable() {
        Transport<GenerateResponse> t = new Transport<>();
        GrpcGenerateStream s = new GrpcGenerateStream(t, "m");
        s.onDone(result("", FinishReason.CANCELLED));
        assertEquals(Status.Code.UNAVAILABLE, Status.fromThrowable(t.error).getCode());
    }

    @Test
    void watchQueuesWhileNotReadyAndGivesUpOnAClientTooFarBehind() throws Exception {
        Transport<WatchJobResponse> t = new Transport<>();
        GrpcJobWatch w = new GrpcJobWatch(t, 0);
        boolean[] unsubscribed = {false};
        w.bind(() -> unsubscribed[0] = true);
        w.onEvent(event(1));
        t.ready = false;
        w.onEvent(event(2));
        assertEquals(1, t.sent.size());
        t.becomeReady();
        assertEquals(2, t.sent.size());
        t.ready = false;
        for (int i = 3; i <= GrpcJobWatch.MAX_QUEUED + 3; i++) w.onEvent(event(i));
        Status st = Status.fromThrowable(t.error);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode());
        assertTrue(st.getDescription().contains("after_seq=2"), st.getDescription());
        long until = System.nanoTime() + 5_000_000_000L;
        while (!unsubscribed[0] && System.nanoTime() < until) Thread.sleep(5);
        assertTrue(unsubscribed[0], "the watch handle is closed");
    }

    @Test
    void watchCompletesAfterTheQueuedEventsAndUnsubscribesOnCancel() {
        Transport<WatchJobResponse> t = new Transport<>();
        GrpcJobWatch w = new GrpcJobWatch(t, 0);
        t.ready = false;
        w.onEvent(event(1));
        w.onEnd(new JobInfo("j", "m", "succeeded", 1, 2L, "f", null, "lora", "ft", 10, 5, 5, null));
        assertTrue(!t.completed);
        t.becomeReady();
        assertEquals(2, t.sent.size());
        assertTrue(t.completed);

        Transport<WatchJobResponse> t2 = new Transport<>();
        GrpcJobWatch w2 = new GrpcJobWatch(t2, 0);
        boolean[] unsubscribed = {false};
        w2.bind(() -> unsubscribed[0] = true);
        t2.cancel();
        assertTrue(unsubscribed[0]);
        w2.onEvent(event(1));
        assertEquals(0, t2.sent.size());
    }

    static JobEvent event(long seq) {
        return new JobEvent(seq, 1, "info", "message", "event " + seq, Map.of());
    }

    static List<String> texts(List<GenerateResponse> sent) {
        List<String> out = new ArrayList<>();
        for (GenerateResponse r : sent) if (r.hasText()) out.add(r.getText());
        return out;
    }
}
