package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.tune4j.grpc.v1.CancelJobRequest;
import io.tune4j.grpc.v1.ChatMessage;
import io.tune4j.grpc.v1.CreateJobRequest;
import io.tune4j.grpc.v1.GenerateRequest;
import io.tune4j.grpc.v1.GenerateResponse;
import io.tune4j.grpc.v1.GetJobRequest;
import io.tune4j.grpc.v1.Job;
import io.tune4j.grpc.v1.ListJobsRequest;
import io.tune4j.grpc.v1.ListJobsResponse;
import io.tune4j.grpc.v1.ListModelsRequest;
import io.tune4j.grpc.v1.ListModelsResponse;
import io.tune4j.grpc.v1.Tune4jGrpc;
import io.tune4j.grpc.v1.WatchJobRequest;
import io.tune4j.grpc.v1.WatchJobResponse;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.server.jobs.JobRequest;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** The gRPC service end to end: a real server on 127.0.0.1, a Netty channel and the generated stubs. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GrpcTest {
    static final String ADMIN = "admin-key-123";
    static final String INFER = "infer-key-456";
    static final String BASE = "stories260K-hf";
    static final ObjectMapper JSON = new ObjectMapper();

    Path modelDir;
    LoadedModel model;
    InferenceServer server;
    InMemoryJobService jobs;
    ManagedChannel channel;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void start() throws Exception {
        modelDir = TestModel.require("models/" + BASE);
        model = LoadedModel.load(modelDir, null, CpuOps.INSTANCE);
        Path adapter = Files.createTempDirectory("tune4j-grpc-test").resolve("lora-a");
        Files.createDirectories(adapter);
        try (LoadedModel scratch = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
            LoraMethod lora = new LoraMethod(new LoraConfig(4, 8f, 0f, LoraConfig.ATTENTION, false, 7L));
            lora.attach(scratch.model());
            lora.save(adapter);
            lora.close();
        }
        ServerOptions o = new ServerOptions();
        o.port = 0;
        o.grpcPort = 0;
        o.keys = ApiKeys.of(Map.of(ADMIN, Set.of(ApiKeys.Scope.ADMIN), INFER, Set.of(ApiKeys.Scope.INFERENCE)));
        o.adapters.put("lora-a", adapter);
        o.maxBatch = 2;
        o.maxTokensCap = 400;
        jobs = new InMemoryJobService(BASE);
        server = InferenceServer.start(model, modelDir, o, new PrintStream(OutputStream.nullOutputStream()), jobs);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcAddress().getPort()).usePlaintext().build();
    }

    @AfterAll
    void stop() throws Exception {
        if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (server != null) server.close();
        if (model != null) model.close();
    }

    // ------------------------------------------------------------------ helpers

    Tune4jGrpc.Tune4jBlockingStub stub(String key) {
        return Tune4jGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth(key)))
                .withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    Tune4jGrpc.Tune4jStub async(String key) {
        return Tune4jGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth(key)));
    }

    static Metadata auth(String key) {
        Metadata m = new Metadata();
        if (key != null) m.put(GrpcAuthInterceptor.AUTHORIZATION, "Bearer " + key);
        return m;
    }

    static GenerateRequest greedy(String prompt, int maxTokens) {
        return GenerateRequest.newBuilder().setPrompt(prompt).setMaxTokens(maxTokens).setTemperature(0).build();
    }

    /** The streamed text and the final message, checking that nothing follows the final message. */
    record Streamed(String text, int messages, GenerateResponse last) {}

    static Streamed collect(Iterator<GenerateResponse> it) {
        StringBuilder b = new StringBuilder();
        GenerateResponse last = null;
        int n = 0;
        while (it.hasNext()) {
            GenerateResponse r = it.next();
            assertNull(last, "a message after the final one");
            n++;
            if (r.hasFinished()) last = r;
            else {
                assertFalse(r.getText().isEmpty(), "empty delta");
                b.append(r.getText());
            }
        }
        assertNotNull(last, "no final message");
        return new Streamed(b.toString(), n, last);
    }

    JsonNode httpPost(String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(server.uri().resolve(path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + INFER).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    String httpStatus(String path, String body, int expected) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(server.uri().resolve(path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + INFER).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(expected, r.statusCode(), r.body());
        return r.body();
    }

    static Status.Code code(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
    }

    static StatusRuntimeException failure(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run);
    }

    // ------------------------------------------------------------------ generation

    @Test
    void generateStreamsTheSameGreedyStoryAsHttp() throws Exception {
        Streamed s = collect(stub(INFER).generate(greedy(ServerTest.PROMPT, 20)));
        assertTrue(ServerTest.EXPECTED.startsWith(s.text()) && s.text().length() > 20, s.text());
        assertTrue(s.messages() > 2, "streamed in pieces, got " + s.messages());
        String viaHttp = httpPost("/v1/completions", ServerTest.completion(ServerTest.PROMPT, 20, false))
                .get("choices").get(0).get("text").asText();
        assertEquals(viaHttp, s.text());
        assertEquals("length", s.last().getFinished().getFinishReason());
        assertEquals(BASE, s.last().getFinished().getModel());
        assertEquals(20, s.last().getFinished().getUsage().getCompletionTokens());
        assertEquals(s.last().getFinished().getUsage().getPromptTokens() + 20, s.last().getFinished().getUsage().getTotalTokens());

        GenerateRequest stop = greedy(ServerTest.PROMPT, 40).toBuilder().addStop("Lily").build();
        Streamed cut = collect(stub(ADMIN).generate(stop)); // admin implies inference
        assertEquals(", there was a little girl named ", cut.text());
        assertEquals("stop", cut.last().getFinished().getFinishReason());
    }

    @Test
    void chatMessagesGiveTheSameTextAsHttpChat() throws Exception {
        GenerateRequest r = GenerateRequest.newBuilder().setMaxTokens(15).setTemperature(0)
                .addMessages(ChatMessage.newBuilder().setRole("system").setContent("Tell a story."))
                .addMessages(ChatMessage.newBuilder().setRole("user").setContent("Once")).build();
        Streamed s = collect(stub(INFER).generate(r));
        String body = "{\"messages\":[{\"role\":\"system\",\"content\":\"Tell a story.\"},{\"role\":\"user\",\"content\":\"Once\"}],"
                + "\"max_tokens\":15,\"temperature\":0}";
        JsonNode h = httpPost("/v1/chat/completions", body);
        assertEquals(h.get("choices").get(0).get("message").get("content").asText(), s.text());
        assertEquals(h.get("usage").get("completion_tokens").asInt(), s.last().getFinished().getUsage().getCompletionTokens());
    }

    @Test
    void listModelsHasTheBaseModelAndLoadedAdapters() {
        ListModelsResponse m = stub(INFER).listModels(ListModelsRequest.getDefaultInstance());
        assertEquals(2, m.getModelsCount(), m.toString());
        assertEquals(BASE, m.getModels(0).getId());
        assertEquals("", m.getModels(0).getParent());
        assertEquals("lora-a", m.getModels(1).getId());
        assertEquals(BASE, m.getModels(1).getParent());
        // a fresh LoRA adapter (B = 0) changes nothing: same greedy text through it
        Streamed viaAdapter = collect(stub(INFER).generate(greedy(ServerTest.PROMPT, 10).toBuilder().setModel("lora-a").build()));
        Streamed base = collect(stub(INFER).generate(greedy(ServerTest.PROMPT, 10)));
        assertEquals(base.text(), viaAdapter.text());
        assertEquals("lora-a", viaAdapter.last().getFinished().getModel());
    }

    @Test
    void badRequestsAreInvalidArgumentNamingTheField() {
        Tune4jGrpc.Tune4jBlockingStub s = stub(INFER);
        StatusRuntimeException t = failure(() -> s.generate(greedy("x", 5).toBuilder().setTemperature(3).build()).hasNext());
        assertEquals(Status.Code.INVALID_ARGUMENT, t.getStatus().getCode());
        assertTrue(t.getStatus().getDescription().contains("temperature"), t.getStatus().getDescription());
        StatusRuntimeException big = failure(() -> s.generate(greedy("x", 100_000)).hasNext());
        assertEquals(Status.Code.INVALID_ARGUMENT, big.getStatus().getCode());
        assertTrue(big.getStatus().getDescription().contains("at most 400"), big.getStatus().getDescription());
        GenerateRequest both = greedy("x", 5).toBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent("y")).build();
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> s.generate(both).hasNext()));
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> s.generate(GenerateRequest.newBuilder().setMaxTokens(3).build()).hasNext()));
        GenerateRequest role = GenerateRequest.newBuilder().addMessages(ChatMessage.newBuilder().setRole("robot").setContent("y")).build();
        StatusRuntimeException r = failure(() -> s.generate(role).hasNext());
        assertTrue(r.getStatus().getDescription().contains("messages[0].role"), r.getStatus().getDescription());
        GenerateRequest unknown = greedy("x", 5).toBuilder().setModel("nope").build();
        assertEquals(Status.Code.NOT_FOUND, code(() -> s.generate(unknown).hasNext()));
        GenerateRequest tooLong = greedy("Once upon a time ".repeat(400), 5);
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> s.generate(tooLong).hasNext()));
    }

    @Test
    void httpAndGrpcCheckARequestAlike() throws Exception {
        // top_k reaches the sampler from both: top_k=1 at temperature 1 is greedy decoding
        String greedyText = httpPost("/v1/completions", ServerTest.completion(ServerTest.PROMPT, 20, false))
                .get("choices").get(0).get("text").asText();
        String topK1 = httpPost("/v1/completions", "{\"prompt\":\"" + ServerTest.PROMPT
                + "\",\"max_tokens\":20,\"temperature\":1,\"top_k\":1,\"seed\":3}").get("choices").get(0).get("text").asText();
        assertEquals(greedyText, topK1);
        GenerateRequest g = GenerateRequest.newBuilder().setPrompt(ServerTest.PROMPT).setMaxTokens(20).setTemperature(1)
                .setTopK(1).setSeed(3).build();
        assertEquals(greedyText, collect(stub(INFER).generate(g)).text());
        // vLLM's "no limit" is accepted
        httpPost("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":2,\"top_k\":-1}");

        // the same bad field gets the same message from both, and a role error names every accepted role
        String badRole = "{\"messages\":[{\"role\":\"robot\",\"content\":\"y\"}]}";
        String httpError = JSON.readTree(httpStatus("/v1/chat/completions", badRole, 400)).get("error").get("message").asText();
        GenerateRequest role = GenerateRequest.newBuilder().addMessages(ChatMessage.newBuilder().setRole("robot").setContent("y")).build();
        String grpcError = failure(() -> stub(INFER).generate(role).hasNext()).getStatus().getDescription();
        assertEquals(httpError, grpcError);
        for (String r : GenerationRequest.ROLES) assertTrue(httpError.contains(r), httpError);
        String negativeK = JSON.readTree(httpStatus("/v1/completions", "{\"prompt\":\"a\",\"top_k\":-2}", 400))
                .get("error").get("message").asText();
        GenerateRequest k = greedy("a", 5).toBuilder().setTopK(-2).build();
        assertEquals(negativeK, failure(() -> stub(INFER).generate(k).hasNext()).getStatus().getDescription());
    }

    @Test
    void keysAndScopesAreChecked() throws Exception {
        StatusRuntimeException missing = failure(() -> stub(null).listModels(ListModelsRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNAUTHENTICATED, missing.getStatus().getCode());
        assertTrue(missing.getStatus().getDescription().contains("authorization: Bearer"), missing.getStatus().getDescription());
        assertEquals(Status.Code.UNAUTHENTICATED, code(() -> stub("wrong").generate(greedy("x", 2)).hasNext()));
        long deniedBefore = server.metrics().grpcRequests("ListJobs", "PERMISSION_DENIED");
        StatusRuntimeException scope = failure(() -> stub(INFER).listJobs(ListJobsRequest.getDefaultInstance()));
        assertEquals(Status.Code.PERMISSION_DENIED, scope.getStatus().getCode());
        assertTrue(scope.getStatus().getDescription().contains("'admin' scope"), scope.getStatus().getDescription());
        assertEquals(Status.Code.PERMISSION_DENIED, code(() -> stub(INFER).getJob(GetJobRequest.newBuilder().setId("x").build())));
        assertEquals(deniedBefore + 1, server.metrics().grpcRequests("ListJobs", "PERMISSION_DENIED"));
        stub(INFER).listModels(ListModelsRequest.getDefaultInstance());
        assertTrue(server.metrics().render().contains("tune4j_grpc_requests_total{method=\"ListModels\",code=\"OK\"}"));
        assertTrue(server.metrics().render().contains("tune4j_grpc_request_duration_seconds_bucket{method=\"ListModels\""));
    }

    @Test
    void aClientThatCancelsMidStreamFreesItsSlot() throws Exception {
        long cancelledBefore = server.metrics().grpcRequests("Generate", "CANCELLED");
        long sequencesBefore = server.metrics().cancelled.sum();
        server.scheduler().stepPauseMillis = 10;
        CountDownLatch closed = new CountDownLatch(1);
        List<Throwable> error = new ArrayList<>();
        try {
            CountDownLatch threeDeltas = new CountDownLatch(3);
            ClientCallStreamObserver<?>[] call = new ClientCallStreamObserver<?>[1];
            GenerateRequest slow = GenerateRequest.newBuilder().setPrompt("Once").setMaxTokens(400).setIgnoreEos(true).build();
            async(INFER).generate(slow, new ClientResponseObserver<GenerateRequest, GenerateResponse>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
                    call[0] = requestStream;
                }

                @Override
                public void onNext(GenerateResponse value) {
                    threeDeltas.countDown();
                }

                @Override
                public void onError(Throwable t) {
                    error.add(t);
                    closed.countDown();
                }

                @Override
                public void onCompleted() {
                    closed.countDown();
                }
            });
            assertTrue(threeDeltas.await(20, TimeUnit.SECONDS));
            assertEquals(1, server.metrics().batchSize(), "the stream is running");
            call[0].cancel("the client lost interest", null);
        } finally {
            server.scheduler().stepPauseMillis = 0;
        }
        assertTrue(closed.await(10, TimeUnit.SECONDS));
        assertEquals(Status.Code.CANCELLED, Status.fromThrowable(error.get(0)).getCode());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && (server.metrics().freeSlots() != 2 || server.metrics().inFlight.get() != 0)) {
            Thread.sleep(20);
        }
        assertEquals(2, server.metrics().freeSlots());
        assertEquals(0, server.metrics().inFlight.get());
        assertEquals(sequencesBefore + 1, server.metrics().cancelled.sum());
        while (System.nanoTime() < deadline && server.metrics().grpcRequests("Generate", "CANCELLED") == cancelledBefore) Thread.sleep(20);
        assertEquals(cancelledBefore + 1, server.metrics().grpcRequests("Generate", "CANCELLED"));
    }

    @Test
    void busyServerIsResourceExhaustedAndShutdownIsUnavailable() throws Exception {
        try (LoadedModel m2 = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
            ServerOptions o = new ServerOptions();
            o.port = 0;
            o.grpcPort = 0;
            o.insecure = true; // no keys: every call passes, on loopback only
            o.maxBatch = 1;
            o.maxInFlight = 1;
            o.shutdownGraceMillis = 0;
            InferenceServer small = InferenceServer.start(m2, modelDir, o, new PrintStream(OutputStream.nullOutputStream()));
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", small.grpcAddress().getPort()).usePlaintext().build();
            try {
                assertEquals("127.0.0.1", small.grpcAddress().getAddress().getHostAddress());
                small.scheduler().stepPauseMillis = 20;
                Tune4jGrpc.Tune4jBlockingStub s = Tune4jGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
                assertEquals(Status.Code.UNAVAILABLE, code(() -> s.listJobs(ListJobsRequest.getDefaultInstance())));
                StatusRuntimeException noJobs = failure(() -> s.getJob(GetJobRequest.newBuilder().setId("x").build()));
                assertEquals("training jobs need --data-dir", noJobs.getStatus().getDescription());

                Iterator<GenerateResponse> held = s.generate(GenerateRequest.newBuilder().setPrompt("Once").setMaxTokens(300)
                        .setIgnoreEos(true).build());
                assertTrue(held.next().hasText());
                StatusRuntimeException busy = failure(() -> s.generate(greedy("a", 2)).hasNext());
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, busy.getStatus().getCode());

                small.close(); // no grace: the running generation is cut
                StatusRuntimeException cut = failure(() -> {
                    while (held.hasNext()) held.next();
                });
                assertEquals(Status.Code.UNAVAILABLE, cut.getStatus().getCode());
                assertTrue(cut.getStatus().getDescription().contains("shutting down"), cut.getStatus().getDescription());
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                small.close();
            }
        }
    }

    // ------------------------------------------------------------------ jobs

    @Test
    void createJobMapsTheRequestAndServiceErrors() {
        Tune4jGrpc.Tune4jBlockingStub s = stub(ADMIN);
        Struct hp = Struct.newBuilder().putFields("n_epochs", Value.newBuilder().setNumberValue(3).build())
                .putFields("learning_rate", Value.newBuilder().setNumberValue(1e-3).build())
                .putFields("target_modules", Value.newBuilder().setListValue(ListValue.newBuilder()
                        .addValues(Value.newBuilder().setStringValue("q_proj")).addValues(Value.newBuilder().setStringValue("v_proj"))).build())
                .build();
        Job j = s.createJob(CreateJobRequest.newBuilder().setTrainingFile("file-train").setMethodType("lora")
                .setHyperparameters(hp).setSeed(7).setSuffix("mine").build());
        assertTrue(j.getId().startsWith("ftjob-"), j.getId());
        assertEquals("queued", j.getStatus());
        assertEquals(BASE, j.getModel());
        assertFalse(j.hasFinishedAt());
        JobRequest got = jobs.requests.get(jobs.requests.size() - 1);
        assertEquals(BASE, got.model()); // empty model means the served base model
        assertEquals("file-train", got.trainingFile());
        assertNull(got.validationFile());
        assertEquals("lora", got.methodType());
        assertEquals(3, got.hyperparameters().get("n_epochs")); // a whole number, not 3.0
        assertEquals(1e-3, got.hyperparameters().get("learning_rate"));
        assertEquals(List.of("q_proj", "v_proj"), got.hyperparameters().get("target_modules"));
        assertEquals("mine", got.suffix());
        assertEquals(7L, got.seed());
        assertEquals(j, s.getJob(GetJobRequest.newBuilder().setId(j.getId()).build()));

        StatusRuntimeException bad = failure(() -> s.createJob(CreateJobRequest.newBuilder().setTrainingFile("nope").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
        assertEquals("no file with id 'nope'", bad.getStatus().getDescription());
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> s.createJob(CreateJobRequest.getDefaultInstance())));
        assertEquals(Status.Code.NOT_FOUND, code(() -> s.getJob(GetJobRequest.newBuilder().setId("ftjob-none").build())));
        assertEquals(Status.Code.NOT_FOUND, code(() -> s.cancelJob(CancelJobRequest.newBuilder().setId("ftjob-none").build())));
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> s.getJob(GetJobRequest.getDefaultInstance())));
    }

    @Test
    void listJobsPagesNewestFirst() {
        Tune4jGrpc.Tune4jBlockingStub s = stub(ADMIN);
        Job a = s.createJob(CreateJobRequest.newBuilder().setTrainingFile("file-a").build());
        Job b = s.createJob(CreateJobRequest.newBuilder().setTrainingFile("file-b").build());
        ListJobsResponse first = s.listJobs(ListJobsRequest.newBuilder().setLimit(1).build());
        assertEquals(List.of(b), first.getJobsList());
        assertTrue(first.getHasMore());
        ListJobsResponse second = s.listJobs(ListJobsRequest.newBuilder().setLimit(1).setAfter(b.getId()).build());
        assertEquals(List.of(a), second.getJobsList());
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> s.listJobs(ListJobsRequest.newBuilder().setLimit(500).build())));
    }

    @Test
    void watchJobReplaysThenFollowsUntilTheJobEnds() throws Exception {
        Tune4jGrpc.Tune4jBlockingStub s = stub(ADMIN);
        Job j = s.createJob(CreateJobRequest.newBuilder().setTrainingFile("file-w").build());
        jobs.step(j.getId(), 1, 2.5);
        jobs.step(j.getId(), 2, 2.25);
        BlockingQueue<Object> got = new LinkedBlockingQueue<>();
        async(ADMIN).watchJob(WatchJobRequest.newBuilder().setId(j.getId()).build(), new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(WatchJobResponse value) {
                got.add(value);
            }

            @Override
            public void onError(Throwable t) {
                got.add(t);
            }

            @Override
            public void onCompleted() {
                got.add("completed");
            }
        });
        assertEquals(1, next(got).getEvent().getSeq());
        WatchJobResponse second = next(got);
        assertEquals(2, second.getEvent().getSeq());
        assertEquals("metrics", second.getEvent().getType());
        assertEquals(2.25, second.getEvent().getData().getFieldsOrThrow("train_loss").getNumberValue());
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < until && jobs.watcherCount(j.getId()) == 0) Thread.sleep(10);
        jobs.step(j.getId(), 3, 2.0);
        WatchJobResponse third = next(got);
        assertEquals(3, third.getEvent().getSeq());
        assertEquals(3, third.getEvent().getData().getFieldsOrThrow("step").getNumberValue());
        jobs.end(j.getId(), "succeeded", "stories-ft");
        WatchJobResponse end = next(got);
        assertEquals("succeeded", end.getFinished().getStatus());
        assertEquals("stories-ft", end.getFinished().getFineTunedModel());
        assertTrue(end.getFinished().hasFinishedAt());
        assertEquals("completed", got.poll(10, TimeUnit.SECONDS));

        // an ended job: the events after after_seq, then its final state
        Iterator<WatchJobResponse> again = s.watchJob(WatchJobRequest.newBuilder().setId(j.getId()).setAfterSeq(2).build());
        assertEquals(3, again.next().getEvent().getSeq());
        assertEquals("succeeded", again.next().getFinished().getStatus());
        assertFalse(again.hasNext());
        assertEquals(Status.Code.NOT_FOUND, code(() -> s.watchJob(WatchJobRequest.newBuilder().setId("ftjob-none").build()).hasNext()));
    }

    @Test
    void cancelJobEndsItsWatchesAndAClientLeavingAWatchUnsubscribes() throws Exception {
        Tune4jGrpc.Tune4jBlockingStub s = stub(ADMIN);
        Job j = s.createJob(CreateJobRequest.newBuilder().setTrainingFile("file-c").build());
        WatchJobRequest req = WatchJobRequest.newBuilder().setId(j.getId()).build();
        Iterator<WatchJobResponse> watch = s.watchJob(req);
        io.grpc.Context.CancellableContext leaving = io.grpc.Context.current().withCancellation();
        leaving.run(() -> async(ADMIN).watchJob(req, new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(WatchJobResponse value) {}

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
        }));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < until && jobs.watcherCount(j.getId()) < 2) Thread.sleep(10);
        assertEquals(2, jobs.watcherCount(j.getId()));
        jobs.step(j.getId(), 1, 3.0);
        assertEquals(1, watch.next().getEvent().getSeq());
        leaving.cancel(null);
        while (System.nanoTime() < until && jobs.watcherCount(j.getId()) > 1) Thread.sleep(10);
        assertEquals(1, jobs.watcherCount(j.getId()), "the client that left no longer watches");

        Job cancelled = s.cancelJob(CancelJobRequest.newBuilder().setId(j.getId()).build());
        assertEquals("cancelled", cancelled.getStatus());
        assertEquals("cancelled", watch.next().getFinished().getStatus());
        assertFalse(watch.hasNext());
        assertEquals(cancelled, s.cancelJob(CancelJobRequest.newBuilder().setId(j.getId()).build())); // ended: unchanged
    }

    static WatchJobResponse next(BlockingQueue<Object> q) throws InterruptedException {
        Object o = q.poll(10, TimeUnit.SECONDS);
        if (o instanceof Throwable t) throw new AssertionError("the watch failed", t);
        assertNotNull(o, "no message within 10 s");
        return (WatchJobResponse) o;
    }
}
