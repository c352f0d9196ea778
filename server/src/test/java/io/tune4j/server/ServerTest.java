package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** End to end over real sockets on 127.0.0.1: every endpoint, streaming, batching, limits, h2c. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServerTest {
    static final String PROMPT = "Once upon a time";
    static final String EXPECTED = ", there was a little girl named Lily. She loved to play outside in the park.";
    static final String ADMIN = "admin-key-123";
    static final String INFER = "infer-key-456";
    static final ObjectMapper JSON = new ObjectMapper();

    Path modelDir;
    Path dataDir;
    LoadedModel model;
    InferenceServer server;
    final ByteArrayOutputStream accessLog = new ByteArrayOutputStream();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void start() throws Exception {
        modelDir = TestModel.require("models/stories260K-hf");
        dataDir = Files.createTempDirectory("tune4j-server-test");
        model = LoadedModel.load(modelDir, null, CpuOps.INSTANCE);
        ServerOptions o = new ServerOptions();
        o.port = 0;
        o.keys = ApiKeys.of(Map.of(ADMIN, Set.of(ApiKeys.Scope.ADMIN), INFER, Set.of(ApiKeys.Scope.INFERENCE)));
        o.dataDir = dataDir;
        o.maxBatch = 4;
        o.maxBodyBytes = 64 * 1024;
        o.maxTokensCap = 500;
        server = InferenceServer.start(model, modelDir, o, new PrintStream(accessLog, true, StandardCharsets.UTF_8));
    }

    @AfterAll
    void stop() {
        if (server != null) server.close();
        if (model != null) model.close();
    }

    // ------------------------------------------------------------------ helpers

    HttpResponse<String> send(String method, String path, String body, String key) throws Exception {
        return send(http, method, path, body, key);
    }

    HttpResponse<String> send(HttpClient client, String method, String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri().resolve(path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        if (key != null) b.header("Authorization", "Bearer " + key);
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode ok(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    static String completion(String prompt, int maxTokens, boolean stream) {
        return JSON.createObjectNode().put("model", "stories260K-hf").put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0).put("stream", stream).toString();
    }

    /** The JSON payloads of an SSE body, checking its framing and the final [DONE]. */
    static List<JsonNode> sse(String body) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        String[] events = body.split("\n\n");
        assertEquals("data: [DONE]", events[events.length - 1].strip(), body);
        for (int i = 0; i < events.length - 1; i++) {
            assertTrue(events[i].startsWith("data: "), events[i]);
            out.add(JSON.readTree(events[i].substring(6)));
        }
        return out;
    }

    JsonNode metric(String name) throws Exception {
        String text = send("GET", "/metrics", null, INFER).body();
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ")) return JSON.readTree(line.substring(name.length() + 1));
        }
        throw new AssertionError("no metric " + name);
    }

    // ------------------------------------------------------------------ tests

    @Test
    void healthReadyModelsAndMetrics() throws Exception {
        HttpResponse<String> h = send("GET", "/health", null, null);
        assertEquals(200, h.statusCode());
        assertEquals("ready", ok(send("GET", "/ready", null, INFER)).get("status").asText());
        JsonNode models = ok(send("GET", "/v1/models", null, INFER));
        assertEquals("stories260K-hf", models.get("data").get(0).get("id").asText());
        HttpResponse<String> m = send("GET", "/metrics", null, INFER);
        assertEquals(200, m.statusCode());
        assertTrue(m.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        for (String name : List.of("tune4j_requests_total", "tune4j_request_duration_seconds_bucket",
                "tune4j_time_to_first_token_seconds_bucket", "tune4j_tokens_per_second", "tune4j_batch_size",
                "tune4j_queue_depth", "tune4j_native_memory_bytes", "process_resident_memory_bytes")) {
            assertTrue(m.body().contains(name), name);
        }
        assertEquals(404, send("GET", "/nope", null, INFER).statusCode());
        assertTrue(accessLog.toString(StandardCharsets.UTF_8).contains("\"path\":\"/health\""));
    }

    @Test
    void nativeMemoryInUseIsInTheMetrics() throws Exception {
        String text = send("GET", "/metrics", null, INFER).body();
        assertTrue(text.contains("# TYPE tune4j_native_memory_bytes gauge\n"), text);
        // the KV cache and activations are allocated; F32 safetensors weights are served from the mapping
        assertTrue(metric("tune4j_native_memory_bytes{kind=\"allocated\"}").asLong() > 0);
        assertTrue(metric("tune4j_native_memory_bytes{kind=\"mapped\"}").asLong() >= Files.size(modelDir.resolve("model.safetensors")));
        assertTrue(metric("process_resident_memory_bytes").asLong() > 0);
    }

    @Test
    void completionIsTheKnownStoryAndStreamingAddsUpToIt() throws Exception {
        JsonNode r = ok(send("POST", "/v1/completions", completion(PROMPT, 20, false), INFER));
        String text = r.get("choices").get(0).get("text").asText();
        assertTrue(EXPECTED.startsWith(text) && text.length() > 20, text);
        assertEquals("length", r.get("choices").get(0).get("finish_reason").asText());
        JsonNode usage = r.get("usage");
        assertEquals(20, usage.get("completion_tokens").asInt());
        assertEquals(usage.get("prompt_tokens").asInt() + 20, usage.get("total_tokens").asInt());

        HttpResponse<String> s = send("POST", "/v1/completions", completion(PROMPT, 20, true), INFER);
        assertEquals(200, s.statusCode());
        assertTrue(s.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        StringBuilder streamed = new StringBuilder();
        List<JsonNode> events = sse(s.body());
        for (JsonNode e : events) streamed.append(e.get("choices").get(0).get("text").asText());
        assertEquals(text, streamed.toString());
        assertEquals("length", events.get(events.size() - 1).get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void chatCompletionStreamedEqualsWhole() throws Exception {
        String body = "{\"messages\":[{\"role\":\"system\",\"content\":\"Tell a story.\"},{\"role\":\"user\",\"content\":\"Once\"}],"
                + "\"max_tokens\":15,\"temperature\":0,\"stop\":[\"zzz\"]";
        JsonNode r = ok(send("POST", "/v1/chat/completions", body + "}", INFER));
        assertEquals("chat.completion", r.get("object").asText());
        JsonNode msg = r.get("choices").get(0).get("message");
        assertEquals("assistant", msg.get("role").asText());
        String whole = msg.get("content").asText();
        assertFalse(whole.isEmpty());
        HttpResponse<String> s = send("POST", "/v1/chat/completions", body + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}", INFER);
        List<JsonNode> events = sse(s.body());
        StringBuilder streamed = new StringBuilder();
        for (JsonNode e : events) {
            assertEquals("chat.completion.chunk", e.get("object").asText());
            for (JsonNode c : e.get("choices")) streamed.append(c.path("delta").path("content").asText(""));
        }
        assertEquals(whole, streamed.toString());
        assertEquals("assistant", events.get(0).get("choices").get(0).get("delta").get("role").asText());
        JsonNode last = events.get(events.size() - 1);
        assertEquals(r.get("usage"), last.get("usage"));
    }

    @Test
    void stopStringsCutTheText() throws Exception {
        String body = JSON.createObjectNode().put("prompt", PROMPT).put("max_tokens", 40).put("temperature", 0)
                .put("stop", "Lily").toString();
        JsonNode r = ok(send("POST", "/v1/completions", body, INFER));
        assertEquals(", there was a little girl named ", r.get("choices").get(0).get("text").asText());
        assertEquals("stop", r.get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void concurrentRequestsOfDifferentLengthsMatchAlone() throws Exception {
        String[] prompts = {PROMPT, "Tom had a big red ball", "The sun", "One day, a little bird flew over the tall green tree"};
        int[] lengths = {30, 12, 45, 20};
        List<String> alone = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            alone.add(ok(send("POST", "/v1/completions", completion(prompts[i], lengths[i], false), INFER))
                    .get("choices").get(0).get("text").asText());
        }
        server.scheduler().stepPauseMillis = 2; // keep all four in flight together
        try {
            List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                HttpRequest req = HttpRequest.newBuilder(server.uri().resolve("/v1/completions")).timeout(Duration.ofSeconds(30))
                        .header("Authorization", "Bearer " + INFER)
                        .POST(HttpRequest.BodyPublishers.ofString(completion(prompts[i], lengths[i], i % 2 == 1))).build();
                fs.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < prompts.length; i++) {
                HttpResponse<String> r = fs.get(i).get(30, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                String text;
                if (i % 2 == 1) {
                    StringBuilder b = new StringBuilder();
                    for (JsonNode e : sse(r.body())) b.append(e.get("choices").get(0).get("text").asText());
                    text = b.toString();
                } else {
                    text = JSON.readTree(r.body()).get("choices").get(0).get("text").asText();
                }
                assertEquals(alone.get(i), text, "prompt " + i);
            }
        } finally {
            server.scheduler().stepPauseMillis = 0;
        }
    }

    @Test
    void authenticationAndScopes() throws Exception {
        assertEquals(401, send("GET", "/v1/models", null, null).statusCode());
        HttpResponse<String> wrong = send("POST", "/v1/completions", completion(PROMPT, 2, false), "nope");
        assertEquals(401, wrong.statusCode());
        assertEquals("invalid_api_key", JSON.readTree(wrong.body()).get("error").get("code").asText());
        HttpResponse<String> scope = send("POST", "/v1/adapters", "{\"name\":\"x\",\"path\":\"x\"}", INFER);
        assertEquals(403, scope.statusCode());
        JsonNode err = JSON.readTree(scope.body()).get("error");
        for (String f : List.of("message", "type", "param", "code")) assertTrue(err.has(f), f);
        assertEquals(200, send("POST", "/v1/completions", completion(PROMPT, 2, false), ADMIN).statusCode());
    }

    @Test
    void limitsAnswerWithClearErrors() throws Exception {
        // repeated: a 413 sent before the rejected body ended used to lose the next request on that connection
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> big = send("POST", "/v1/completions", completion("a ".repeat(40_000), 2, false), INFER);
            assertEquals(413, big.statusCode());
            assertEquals("request_too_large", JSON.readTree(big.body()).get("error").get("code").asText());
        }

        HttpResponse<String> longPrompt = send("POST", "/v1/completions", completion("Once upon a time ".repeat(200), 2, false), INFER);
        assertEquals(400, longPrompt.statusCode(), longPrompt.body());
        assertEquals("context_length_exceeded", JSON.readTree(longPrompt.body()).get("error").get("code").asText());
        HttpResponse<String> longStream = send("POST", "/v1/completions", completion("Once upon a time ".repeat(200), 2, true), INFER);
        assertEquals(400, longStream.statusCode(), longStream.body());

        HttpResponse<String> cap = send("POST", "/v1/completions", completion(PROMPT, 501, false), INFER);
        assertEquals(400, cap.statusCode());
        assertEquals("max_tokens", JSON.readTree(cap.body()).get("error").get("param").asText());
        HttpResponse<String> n = send("POST", "/v1/completions", "{\"prompt\":\"a\",\"n\":2}", INFER);
        assertEquals(400, n.statusCode());
        assertEquals("n", JSON.readTree(n.body()).get("error").get("param").asText());
        assertEquals(400, send("POST", "/v1/completions", "{not json", INFER).statusCode());
        assertEquals(404, send("POST", "/v1/completions", "{\"model\":\"nope\",\"prompt\":\"a\"}", INFER).statusCode());
    }

    @Test
    void tooManyConcurrentRequestsGet429() throws Exception {
        try (LoadedModel m2 = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
            ServerOptions o = new ServerOptions();
            o.port = 0;
            o.insecure = true;
            o.maxBatch = 1;
            o.maxInFlight = 1;
            InferenceServer small = InferenceServer.start(m2, modelDir, o, new PrintStream(OutputStream.nullOutputStream()));
            try {
                assertEquals("127.0.0.1", small.uri().getHost()); // no keys: loopback only
                small.scheduler().stepPauseMillis = 20;
                String slow = "{\"prompt\":\"Once\",\"max_tokens\":300,\"ignore_eos\":true,\"stream\":true}";
                HttpRequest first = HttpRequest.newBuilder(small.uri().resolve("/v1/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString(slow)).build();
                HttpResponse<InputStream> held = http.send(first, HttpResponse.BodyHandlers.ofInputStream());
                assertEquals(200, held.statusCode());
                HttpRequest second = HttpRequest.newBuilder(small.uri().resolve("/v1/completions")).timeout(Duration.ofSeconds(10))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"a\",\"max_tokens\":2}")).build();
                HttpResponse<String> busy = http.send(second, HttpResponse.BodyHandlers.ofString());
                assertEquals(429, busy.statusCode(), busy.body());
                assertEquals("1", busy.headers().firstValue("retry-after").orElse(null));
                held.body().close();
            } finally {
                small.close();
            }
        }
    }

    @Test
    void servesFromBf16DecodingWeights() throws Exception {
        try (LoadedModel m2 = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            io.tune4j.generate.DecodingWeights.apply(m2.model(), io.tune4j.ops.MatmulPrecision.BF16, new PrintStream(log, true, StandardCharsets.UTF_8));
            assertTrue(log.toString(StandardCharsets.UTF_8).contains("decoding from bf16 weights"), log.toString());
            ServerOptions o = new ServerOptions();
            o.port = 0;
            o.insecure = true;
            InferenceServer small = InferenceServer.start(m2, modelDir, o, new PrintStream(OutputStream.nullOutputStream()));
            try {
                HttpRequest req = HttpRequest.newBuilder(small.uri().resolve("/v1/completions")).timeout(Duration.ofSeconds(30))
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"prompt\":\"Once upon a time\",\"max_tokens\":20,\"temperature\":0}")).build();
                HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
                assertTrue(r.body().contains(", there was a little girl named Lily"), r.body());
            } finally {
                small.close();
            }
        }
    }

    @Test
    void h2cRequestsAreServedOverHttp2() throws Exception {
        HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> models = send(h2, "GET", "/v1/models", null, INFER);
        assertEquals(200, models.statusCode());
        assertEquals(HttpClient.Version.HTTP_2, models.version());
        HttpResponse<String> c = send(h2, "POST", "/v1/completions", completion(PROMPT, 20, true), INFER);
        assertEquals(HttpClient.Version.HTTP_2, c.version());
        StringBuilder b = new StringBuilder();
        for (JsonNode e : sse(c.body())) b.append(e.get("choices").get(0).get("text").asText());
        assertTrue(EXPECTED.startsWith(b.toString()) && b.length() > 20, b.toString());
        assertTrue(accessLog.toString(StandardCharsets.UTF_8).contains("\"proto\":\"h2\""));
    }

    @Test
    void aClientThatDisconnectsMidStreamFreesItsSlot() throws Exception {
        long cancelledBefore = metric("tune4j_cancelled_sequences_total").asLong();
        server.scheduler().stepPauseMillis = 10;
        try (Socket sock = new Socket("127.0.0.1", server.port())) {
            byte[] body = "{\"prompt\":\"Once\",\"max_tokens\":400,\"ignore_eos\":true,\"stream\":true}".getBytes(StandardCharsets.UTF_8);
            String head = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + INFER
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
            OutputStream out = sock.getOutputStream();
            out.write(head.getBytes(StandardCharsets.UTF_8));
            out.write(body);
            out.flush();
            InputStream in = sock.getInputStream();
            StringBuilder seen = new StringBuilder();
            while (seen.indexOf("\"text\"") < 0) {
                int ch = in.read();
                assertNotEquals(-1, ch);
                seen.append((char) ch);
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < until && server.metrics().batchSize() != 1) Thread.sleep(5);
            assertEquals(1, server.metrics().batchSize(), "the stream is running");
        } finally {
            server.scheduler().stepPauseMillis = 0;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && server.metrics().freeSlots() != 4) Thread.sleep(20);
        assertEquals(4, server.metrics().freeSlots());
        assertEquals(cancelledBefore + 1, metric("tune4j_cancelled_sequences_total").asLong());
    }

    /** A LoRA adapter with random non-zero B written under the data dir, so that it changes the output. */
    void saveLora(Path dir, LoraConfig cfg, long seed) throws Exception {
        try (LoadedModel m2 = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
            LoraMethod lora = new LoraMethod(cfg);
            lora.attach(m2.model());
            // B starts at zero (the adapter would be a no-op); random B makes it change the output
            SplittableRandom rng = new SplittableRandom(seed);
            for (LoraMethod.Site s : lora.sites()) {
                java.nio.FloatBuffer fb = s.projection().loraB().value().floats();
                for (int i = 0; i < fb.capacity(); i++) fb.put(i, (float) (rng.nextDouble() - 0.5));
            }
            for (io.tune4j.model.Parameter p : lora.savedModuleParameters()) { // modules_to_save, if any
                java.nio.FloatBuffer fb = p.value().floats();
                for (int i = 0; i < fb.capacity(); i++) fb.put(i, fb.get(i) * (float) (0.5 + rng.nextDouble()));
            }
            Files.createDirectories(dir);
            lora.save(dir);
            lora.close();
        }
    }

    String text(HttpResponse<String> r, boolean streamed) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        if (!streamed) return JSON.readTree(r.body()).get("choices").get(0).get("text").asText();
        StringBuilder b = new StringBuilder();
        for (JsonNode e : sse(r.body())) b.append(e.get("choices").get(0).get("text").asText());
        return b.toString();
    }

    @Test
    void loraAdaptersAndTheBaseModelShareOneBatch() throws Exception {
        saveLora(dataDir.resolve("mix-x"), new LoraConfig(4, 8f, 0f, LoraConfig.ATTENTION, false, 11L), 5);
        saveLora(dataDir.resolve("mix-y"), new LoraConfig(8, 8f, 0f, List.of("q_proj", "v_proj", "gate_proj", "down_proj"),
                false, 12L), 6);
        ok(send("POST", "/v1/adapters", "{\"name\":\"mix-x\",\"path\":\"mix-x\"}", ADMIN));
        ok(send("POST", "/v1/adapters", "{\"name\":\"mix-y\",\"path\":\"mix-y\"}", ADMIN));
        String[] models = {"mix-x", "stories260K-hf", "mix-y"};
        String[] prompts = {PROMPT, "Tom had a big red ball", "The sun"};
        int len = 40;
        List<String> alone = new ArrayList<>();
        for (int i = 0; i < models.length; i++) {
            alone.add(text(send("POST", "/v1/completions",
                    completion(prompts[i], len, false).replace("stories260K-hf", models[i]), INFER), false));
        }
        assertNotEquals(alone.get(0), text(send("POST", "/v1/completions", completion(prompts[0], len, false), INFER), false),
                "the adapter changes the text");
        long mixedBefore = metric("tune4j_mixed_model_steps_total").asLong();
        server.scheduler().stepPauseMillis = 3; // keep the three streams in flight together
        try {
            List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
            for (int i = 0; i < models.length; i++) {
                HttpRequest req = HttpRequest.newBuilder(server.uri().resolve("/v1/completions")).timeout(Duration.ofSeconds(30))
                        .header("Authorization", "Bearer " + INFER)
                        .POST(HttpRequest.BodyPublishers.ofString(
                                completion(prompts[i], len, true).replace("stories260K-hf", models[i]))).build();
                fs.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < models.length; i++) {
                assertEquals(alone.get(i), text(fs.get(i).get(30, TimeUnit.SECONDS), true), models[i] + " in a mixed batch");
            }
            assertTrue(metric("tune4j_mixed_model_steps_total").asLong() > mixedBefore, "no step mixed adapters");
            assertTrue(metric("tune4j_batch_models_peak").asLong() >= 3, "the base model and both adapters in one step");

            // deleting an adapter while a request streams from it lets that request finish unchanged
            HttpRequest req = HttpRequest.newBuilder(server.uri().resolve("/v1/completions")).timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + INFER)
                    .POST(HttpRequest.BodyPublishers.ofString(completion(prompts[2], len, true).replace("stories260K-hf", "mix-y")))
                    .build();
            CompletableFuture<HttpResponse<String>> running = http.sendAsync(req, HttpResponse.BodyHandlers.ofString());
            Thread.sleep(30);
            assertEquals(200, send("DELETE", "/v1/adapters/mix-y", null, ADMIN).statusCode());
            assertEquals(alone.get(2), text(running.get(30, TimeUnit.SECONDS), true), "a request running when its adapter was deleted");
            assertEquals(404, send("POST", "/v1/completions", completion(PROMPT, 5, false).replace("stories260K-hf", "mix-y"),
                    INFER).statusCode());
        } finally {
            server.scheduler().stepPauseMillis = 0;
            send("DELETE", "/v1/adapters/mix-x", null, ADMIN);
            send("DELETE", "/v1/adapters/mix-y", null, ADMIN);
        }
    }

    /** Bottleneck adapters and LoRA with modules_to_save (trained norms) change every row: they run alone. */
    @Test
    void aBottleneckAdapterRunsAloneNextToLoraAndBaseRequests() throws Exception {
        Path bn = dataDir.resolve("bn");
        try (LoadedModel m2 = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
            io.tune4j.peft.AdapterMethod a = new io.tune4j.peft.AdapterMethod(io.tune4j.peft.AdapterConfig.defaults());
            a.attach(m2.model());
            SplittableRandom rng = new SplittableRandom(9);
            for (io.tune4j.model.Parameter p : a.trainableParameters()) {
                java.nio.FloatBuffer fb = p.value().floats();
                for (int i = 0; i < fb.capacity(); i++) fb.put(i, (float) (rng.nextDouble() - 0.5) * 0.5f);
            }
            Files.createDirectories(bn);
            a.save(bn);
            a.close();
        }
        saveLora(dataDir.resolve("mix-z"), new LoraConfig(4, 8f, 0f, LoraConfig.ATTENTION, false, 13L), 8);
        saveLora(dataDir.resolve("norms"), new LoraConfig(4, 8f, 0f, List.of("q_proj"), false, 14L, List.of("norm")), 9);
        ok(send("POST", "/v1/adapters", "{\"name\":\"bn\",\"path\":\"bn\"}", ADMIN));
        ok(send("POST", "/v1/adapters", "{\"name\":\"mix-z\",\"path\":\"mix-z\"}", ADMIN));
        ok(send("POST", "/v1/adapters", "{\"name\":\"norms\",\"path\":\"norms\"}", ADMIN));
        String[] models = {"bn", "stories260K-hf", "mix-z", "norms", "bn", "norms"};
        String[] prompts = {PROMPT, "The sun", "Tom had a big red ball", "One day", "Lily", PROMPT};
        List<String> alone = new ArrayList<>();
        for (int i = 0; i < models.length; i++) {
            alone.add(text(send("POST", "/v1/completions",
                    completion(prompts[i], 25, false).replace("stories260K-hf", models[i]), INFER), false));
        }
        assertNotEquals(alone.get(0), text(send("POST", "/v1/completions", completion(prompts[0], 25, false), INFER), false),
                "the bottleneck adapter changes the text");
        assertNotEquals(alone.get(5), text(send("POST", "/v1/completions", completion(prompts[5], 25, false), INFER), false),
                "the LoRA adapter with trained norms changes the text");
        server.scheduler().stepPauseMillis = 2;
        try {
            List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
            for (int i = 0; i < models.length; i++) {
                HttpRequest req = HttpRequest.newBuilder(server.uri().resolve("/v1/completions")).timeout(Duration.ofSeconds(30))
                        .header("Authorization", "Bearer " + INFER)
                        .POST(HttpRequest.BodyPublishers.ofString(
                                completion(prompts[i], 25, i % 2 == 0).replace("stories260K-hf", models[i]))).build();
                fs.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < models.length; i++) {
                assertEquals(alone.get(i), text(fs.get(i).get(30, TimeUnit.SECONDS), i % 2 == 0), models[i] + " request " + i);
            }
        } finally {
            server.scheduler().stepPauseMillis = 0;
            send("DELETE", "/v1/adapters/bn", null, ADMIN);
            send("DELETE", "/v1/adapters/mix-z", null, ADMIN);
            send("DELETE", "/v1/adapters/norms", null, ADMIN);
        }
    }

    @Test
    void adaptersLoadByNameAndUnload() throws Exception {
        Path dir = dataDir.resolve("lora-a");
        saveLora(dir, new LoraConfig(4, 8f, 0f, LoraConfig.ATTENTION, false, 7L), 3);
        HttpResponse<String> outside = send("POST", "/v1/adapters",
                JSON.createObjectNode().put("name", "evil").put("path", modelDir.toString()).toString(), ADMIN);
        assertEquals(403, outside.statusCode(), outside.body());
        HttpResponse<String> dotdot = send("POST", "/v1/adapters", "{\"name\":\"evil\",\"path\":\"../\"}", ADMIN);
        assertEquals(403, dotdot.statusCode(), dotdot.body());

        JsonNode loaded = ok(send("POST", "/v1/adapters", "{\"name\":\"lora-a\",\"path\":\"lora-a\"}", ADMIN));
        assertEquals("lora-a", loaded.get("id").asText());
        assertEquals(409, send("POST", "/v1/adapters", "{\"name\":\"lora-a\",\"path\":\"lora-a\"}", ADMIN).statusCode());
        JsonNode models = ok(send("GET", "/v1/models", null, INFER));
        assertEquals("lora-a", models.get("data").get(1).get("id").asText());

        String viaAdapter = ok(send("POST", "/v1/completions", completion(PROMPT, 20, false).replace("stories260K-hf", "lora-a"), INFER))
                .get("choices").get(0).get("text").asText();
        String base = ok(send("POST", "/v1/completions", completion(PROMPT, 20, false), INFER))
                .get("choices").get(0).get("text").asText();
        assertTrue(EXPECTED.startsWith(base) && base.length() > 20, base);
        assertNotEquals(base, viaAdapter);
        String again = ok(send("POST", "/v1/completions", completion(PROMPT, 20, false).replace("stories260K-hf", "lora-a"), INFER))
                .get("choices").get(0).get("text").asText();
        assertEquals(viaAdapter, again);

        assertEquals(200, send("DELETE", "/v1/adapters/lora-a", null, ADMIN).statusCode());
        assertEquals(404, send("DELETE", "/v1/adapters/lora-a", null, ADMIN).statusCode());
        HttpResponse<String> gone = send("POST", "/v1/completions", completion(PROMPT, 5, false).replace("stories260K-hf", "lora-a"), INFER);
        assertEquals(404, gone.statusCode());
        assertEquals("model_not_found", JSON.readTree(gone.body()).get("error").get("code").asText());
        String baseAfter = ok(send("POST", "/v1/completions", completion(PROMPT, 20, false), INFER))
                .get("choices").get(0).get("text").asText();
        assertEquals(base, baseAfter);
    }

    @Test
    void refusesToStartWithoutKeysUnlessInsecure() {
        ServerOptions o = new ServerOptions();
        o.port = 0;
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> InferenceServer.start(model, modelDir, o, System.err));
        assertTrue(e.getMessage().contains("--insecure"), e.getMessage());
        assertNotNull(URI.create("http://127.0.0.1"));
    }
}
