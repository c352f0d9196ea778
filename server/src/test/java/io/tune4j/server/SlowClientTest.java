package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.cpu.CpuOps;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that reads nothing while its long generation streams: the server keeps at most a
 * bounded backlog for it, keeps serving everyone else, and cuts it off (closing the stream, which
 * frees its batch slot) once it falls too far behind or stays unreadable past the timeout.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SlowClientTest {
    static final String SLOW = "{\"prompt\":\"Once\",\"max_tokens\":480,\"ignore_eos\":true,\"stream\":true}";

    LoadedModel model;
    InferenceServer server;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** A server whose connections count as unwritable early: small kernel send buffer, low Netty water mark. */
    InferenceServer start(long maxBacklog, long stallMillis) {
        Path dir = TestModel.require("models/stories260K-hf");
        model = LoadedModel.load(dir, null, CpuOps.INSTANCE);
        ServerOptions o = new ServerOptions();
        o.port = 0;
        o.insecure = true;
        o.maxBatch = 4;
        o.maxTokensCap = 500;
        o.socketSendBufferBytes = 4096;
        o.writeBufferHighWaterMark = 1024;
        o.maxStreamBacklogBytes = maxBacklog;
        o.slowClientTimeoutMillis = stallMillis;
        server = InferenceServer.start(model, dir, o, new PrintStream(OutputStream.nullOutputStream()));
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
        if (model != null) model.close();
    }

    long metric(String name) {
        for (String line : server.metrics().render().split("\n")) {
            if (line.startsWith(name + " ")) return Long.parseLong(line.substring(name.length() + 1));
        }
        throw new AssertionError("no metric " + name);
    }

    static void await(BooleanSupplier condition, long seconds, String what) throws InterruptedException {
        await(condition, seconds, () -> what);
    }

    static void await(BooleanSupplier condition, long seconds, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting until " + what.get());
            Thread.sleep(5);
        }
    }

    /** The known story of the fixture, streamed to a client that reads, while the slow one is stuck. */
    void anotherClientIsServedNormally(URI uri) throws Exception {
        String body = Http.JSON.createObjectNode().put("prompt", ServerTest.PROMPT).put("max_tokens", 20).put("temperature", 0)
                .put("stream", true).toString();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri.resolve("/v1/completions")).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        StringBuilder text = new StringBuilder();
        for (JsonNode e : ServerTest.sse(r.body())) text.append(e.get("choices").get(0).get("text").asText());
        assertTrue(ServerTest.EXPECTED.startsWith(text.toString()) && text.length() > 20, text.toString());
    }

    @Test
    void aReaderThatFallsTooFarBehindIsCutOffWithBoundedMemory() throws Exception {
        long cap = 300;
        start(cap, 0); // no stall timeout: only the backlog cap ends it
        server.scheduler().stepPauseMillis = 20; // the ~75 tokens that fill the backlog take 1.5 s: time to serve another client
        AtomicLong peak = new AtomicLong();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(server.metrics().streamBacklogBytes(), Math::max);
                Thread.onSpinWait();
            }
        });
        sampler.setDaemon(true);
        sampler.start();
        try (RawHttpClient slow = new RawHttpClient(server.port(), 2048)) {
            slow.send("POST", "/v1/completions", SLOW);
            await(() -> server.metrics().streamBacklogBytes() > 0, 30, "the slow client's stream holds text back");
            anotherClientIsServedNormally(server.uri());
            assertEquals(0, metric("tune4j_slow_clients_disconnected_total"), "the slow stream is still running");
            await(() -> metric("tune4j_slow_clients_disconnected_total") == 1, 30, () -> "the slow client is cut off (peak backlog "
                    + peak.get() + ", now " + server.metrics().streamBacklogBytes() + ", tokens " + metric("tune4j_completion_tokens_total") + ")");
            await(() -> server.metrics().freeSlots() == 4, 10, "its slot is free again");
            String got = slow.readToEnd(10_000); // the server closed the connection mid-stream
            assertTrue(got.startsWith("HTTP/1.1 200"), got);
            assertFalse(got.contains("[DONE]"), "the stream was cut, not finished");
        } finally {
            sampler.interrupt();
            server.scheduler().stepPauseMillis = 0;
        }
        // the check runs after a delta is queued: the backlog passes the cap by at most one token's text
        assertTrue(peak.get() > 0 && peak.get() <= cap + 64, "peak backlog " + peak.get() + " bytes");
        assertEquals(0, server.metrics().streamBacklogBytes());
        assertEquals(1, metric("tune4j_cancelled_sequences_total"));
        assertEquals(0, metric("tune4j_open_streams"));
    }

    @Test
    void textHeldForASlowReaderArrivesWholeOnceItReads() throws Exception {
        start(1 << 20, 60_000);
        String body = "{\"prompt\":\"Once\",\"max_tokens\":480,\"ignore_eos\":true,\"temperature\":0";
        HttpResponse<String> whole = http.send(HttpRequest.newBuilder(server.uri().resolve("/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body + "}")).build(), HttpResponse.BodyHandlers.ofString());
        String expected = Http.JSON.readTree(whole.body()).get("choices").get(0).get("text").asText();
        try (RawHttpClient slow = new RawHttpClient(server.port(), 2048)) {
            slow.send("POST", "/v1/completions", body + ",\"stream\":true}");
            await(() -> server.metrics().streamBacklogBytes() > 0, 30, "the stream holds text back");
            await(() -> server.metrics().freeSlots() == 4, 30, "the generation ends while the client still reads nothing");
            String response = slow.readUntil("[DONE]", new java.io.ByteArrayOutputStream());
            StringBuilder text = new StringBuilder();
            java.util.List<JsonNode> events = ServerTest.sse(RawHttpClient.chunkedBody(response));
            for (JsonNode e : events) text.append(e.get("choices").get(0).get("text").asText());
            assertEquals(expected, text.toString());
            assertTrue(events.size() < 480, "held-back text was coalesced: " + events.size() + " events");
        }
        assertEquals(0, server.metrics().streamBacklogBytes());
        assertEquals(0, metric("tune4j_slow_clients_disconnected_total"));
    }

    @Test
    void aReaderThatStaysUnreadableIsCutOffAfterTheTimeout() throws Exception {
        start(1 << 20, 700);
        server.scheduler().stepPauseMillis = 10; // 480 tokens take about 5 s
        try (RawHttpClient slow = new RawHttpClient(server.port(), 2048)) {
            long sent = System.nanoTime();
            slow.send("POST", "/v1/completions", SLOW);
            await(() -> server.metrics().streamBacklogBytes() > 0, 30, "the slow client's stream holds text back");
            anotherClientIsServedNormally(server.uri());
            await(() -> metric("tune4j_slow_clients_disconnected_total") == 1, 30, "the slow client is cut off");
            double seconds = (System.nanoTime() - sent) / 1e9;
            await(() -> server.metrics().freeSlots() == 4, 10, "its slot is free again");
            assertEquals(1, metric("tune4j_cancelled_sequences_total"), "cut off after " + seconds + " s, before it finished");
            assertFalse(slow.readToEnd(10_000).contains("[DONE]"));
        } finally {
            server.scheduler().stepPauseMillis = 0;
        }
        assertEquals(0, server.metrics().streamBacklogBytes());
    }
}
