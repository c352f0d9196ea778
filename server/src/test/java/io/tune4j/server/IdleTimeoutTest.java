package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.LoadedModel;
import io.tune4j.ops.cpu.CpuOps;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Keep-alive connections that carry nothing are closed after --idle-timeout; ones answering a request are not. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IdleTimeoutTest {
    static final long IDLE_MILLIS = 600;

    LoadedModel model;
    InferenceServer server;

    @BeforeAll
    void start() {
        Path dir = TestModel.require("models/stories260K-hf");
        model = LoadedModel.load(dir, null, CpuOps.INSTANCE);
        ServerOptions o = new ServerOptions();
        o.port = 0;
        o.insecure = true;
        o.maxBatch = 2;
        o.idleTimeoutMillis = IDLE_MILLIS;
        server = InferenceServer.start(model, dir, o, new PrintStream(OutputStream.nullOutputStream()));
    }

    @AfterAll
    void stop() {
        if (server != null) server.close();
        if (model != null) model.close();
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterTheTimeout() throws Exception {
        try (RawHttpClient c = new RawHttpClient(server.port(), 0)) {
            c.send("GET", "/health", null);
            String first = c.readUntil("\"ok\"", new ByteArrayOutputStream());
            assertTrue(first.startsWith("HTTP/1.1 200"), first);
            // keep-alive: the same connection answers a second request
            c.send("GET", "/health", null);
            long quietFrom = System.nanoTime();
            String rest = c.readToEnd(10_000); // returns once the server closes the connection
            double waited = (System.nanoTime() - quietFrom) / 1e6;
            assertTrue(rest.startsWith("HTTP/1.1 200"), rest);
            assertTrue(waited >= IDLE_MILLIS * 0.8 && waited < IDLE_MILLIS + 5000, "closed after " + waited + " ms");
        }
    }

    long idleClosed() {
        for (String line : server.metrics().render().split("\n")) {
            if (line.startsWith("tune4j_idle_connections_closed_total ")) return Long.parseLong(line.substring(line.indexOf(' ') + 1));
        }
        throw new AssertionError("no tune4j_idle_connections_closed_total");
    }

    @Test
    void aStreamSilentForLongerThanTheTimeoutIsNotCut() throws Exception {
        long closedBefore = idleClosed();
        server.scheduler().stepPauseMillis = 2 * IDLE_MILLIS; // each token comes after a pause longer than the timeout
        try (RawHttpClient c = new RawHttpClient(server.port(), 0)) {
            c.send("POST", "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":3,\"ignore_eos\":true,\"stream\":true}");
            String body = c.readUntil("[DONE]", new ByteArrayOutputStream());
            assertTrue(body.contains("\"finish_reason\":\"length\"") && body.contains("data: [DONE]"), body);
            server.scheduler().stepPauseMillis = 0;
            c.readToEnd(10_000); // and once answered, the connection is idle like any other
        } finally {
            server.scheduler().stepPauseMillis = 0;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (idleClosed() == closedBefore && System.nanoTime() < deadline) Thread.sleep(10);
        assertTrue(idleClosed() > closedBefore, "counted in tune4j_idle_connections_closed_total");
    }

    @Test
    void zeroKeepsIdleConnections() throws Exception {
        try (LoadedModel m2 = LoadedModel.load(TestModel.require("models/stories260K-hf"), null, CpuOps.INSTANCE)) {
            ServerOptions o = new ServerOptions();
            o.port = 0;
            o.insecure = true;
            o.maxBatch = 1;
            o.idleTimeoutMillis = 0;
            InferenceServer keep = InferenceServer.start(m2, null, o, new PrintStream(OutputStream.nullOutputStream()));
            try (RawHttpClient c = new RawHttpClient(keep.port(), 0)) {
                c.send("GET", "/health", null);
                c.readUntil("\"ok\"", new ByteArrayOutputStream());
                Thread.sleep(2 * IDLE_MILLIS);
                c.send("GET", "/health", null);
                assertTrue(c.readUntil("\"ok\"", new ByteArrayOutputStream()).startsWith("HTTP/1.1 200"));
            } finally {
                keep.close();
            }
        }
    }
}
