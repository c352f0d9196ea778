package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.tune4j.grpc.v1.CreateJobRequest;
import io.tune4j.grpc.v1.GetJobRequest;
import io.tune4j.grpc.v1.Job;
import io.tune4j.grpc.v1.Tune4jGrpc;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.cpu.CpuOps;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Training jobs end to end over real sockets on 127.0.0.1: upload files, train stories260K with
 * LoRA through /v1/fine_tuning/jobs, call the result by name, follow events as SSE, cancel, and
 * the refusals (keys, scopes, bad requests, paths). One server; its jobs run one at a time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JobsTest {
    static final String ADMIN = "admin-key-123";
    static final String INFER = "infer-key-456";

    Path dataDir;
    LoadedModel model;
    InferenceServer server;
    JobsClient client;
    String trainFile;
    String validationFile;

    @BeforeAll
    void start() throws Exception {
        Path modelDir = TestModel.require("models/" + JobsClient.BASE);
        dataDir = Files.createTempDirectory("tune4j-jobs-test");
        model = LoadedModel.load(modelDir, null, CpuOps.INSTANCE);
        ServerOptions o = new ServerOptions();
        o.port = 0;
        o.grpcPort = 0;
        o.keys = ApiKeys.of(Map.of(ADMIN, Set.of(ApiKeys.Scope.ADMIN), INFER, Set.of(ApiKeys.Scope.INFERENCE)));
        o.dataDir = dataDir;
        o.maxUploadBytes = 256 * 1024;
        server = InferenceServer.start(model, modelDir, o, new PrintStream(OutputStream.nullOutputStream()));
        client = new JobsClient(server.uri(), ADMIN);
        trainFile = client.uploadId(JobsClient.alpacaJsonl(40, 0));
        validationFile = client.uploadId(JobsClient.alpacaJsonl(8, 40));
    }

    @AfterAll
    void stop() {
        if (server != null) server.close();
        if (model != null) model.close();
    }

    // ------------------------------------------------------------------ files

    @Test
    void uploadsAreCheckedStoredAndListed() throws Exception {
        byte[] jsonl = "{\"instruction\":\"Say hi\",\"output\":\"hi\"}\n\n{\"instruction\":\"Say yo\",\"output\":\"yo\"}\n"
                .getBytes(StandardCharsets.UTF_8);
        JsonNode f = client.ok(client.upload(jsonl, "../../etc/tiny.jsonl", "fine-tune"));
        assertTrue(f.get("id").asText().startsWith("file-"), f.toString());
        assertEquals("file", f.get("object").asText());
        assertEquals(jsonl.length, f.get("bytes").asInt());
        assertEquals("tiny.jsonl", f.get("filename").asText()); // the client's name is only a label
        assertEquals("fine-tune", f.get("purpose").asText());
        String id = f.get("id").asText();
        assertTrue(Files.isRegularFile(dataDir.resolve("files").resolve(id + ".jsonl")));
        assertEquals(f, client.get("/v1/files/" + id));
        assertTrue(client.get("/v1/files").get("data").findValuesAsText("id").contains(id));
        HttpResponse<String> content = client.send("GET", "/v1/files/" + id + "/content", null);
        assertEquals(new String(jsonl, StandardCharsets.UTF_8), content.body());

        // the JSONL itself as the body
        HttpRequest raw = HttpRequest.newBuilder(server.uri().resolve("/v1/files?purpose=fine-tune&filename=raw.jsonl"))
                .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/jsonl")
                .POST(HttpRequest.BodyPublishers.ofByteArray(jsonl)).build();
        JsonNode r = client.ok(client.http.send(raw, HttpResponse.BodyHandlers.ofString()));
        assertEquals("raw.jsonl", r.get("filename").asText());

        // not JSONL: the error names the line
        byte[] bad = "{\"a\":1}\n{\"b\":2}\nthis is not json\n".getBytes(StandardCharsets.UTF_8);
        JsonNode e = client.error(400, client.upload(bad, "bad.jsonl", "fine-tune"));
        assertTrue(e.get("message").asText().contains("line 3"), e.toString());
        assertEquals("file", e.get("param").asText());
        e = client.error(400, client.upload("[1,2]\n".getBytes(StandardCharsets.UTF_8), "arr.jsonl", "fine-tune"));
        assertTrue(e.get("message").asText().contains("line 1") && e.get("message").asText().contains("not an object"), e.toString());
        e = client.error(400, client.upload(jsonl, "x.jsonl", "assistants"));
        assertEquals("purpose", e.get("param").asText());
        e = client.error(400, client.upload("\n\n".getBytes(StandardCharsets.UTF_8), "empty.jsonl", "fine-tune"));
        assertTrue(e.get("message").asText().contains("no records"), e.toString());
        client.error(413, client.upload(new byte[300 * 1024], "big.jsonl", "fine-tune"));

        assertEquals(200, client.send("DELETE", "/v1/files/" + r.get("id").asText(), null).statusCode());
        client.error(404, client.send("GET", "/v1/files/" + r.get("id").asText(), null));
        client.error(404, client.send("DELETE", "/v1/files/" + r.get("id").asText(), null));
    }

    // ------------------------------------------------------------------ jobs

    @Test
    void aJobTrainsAndItsAdapterAnswersByNameAtOnce() throws Exception {
        long t0 = System.nanoTime();
        JsonNode created = client.create(JobsClient.loraJob(trainFile, validationFile, 6).put("suffix", "demo"));
        String id = created.get("id").asText();
        assertTrue(id.startsWith("ftjob-"), created.toString());
        assertEquals("fine_tuning.job", created.get("object").asText());
        assertTrue(Set.of("queued", "running").contains(created.get("status").asText()), created.toString());
        assertEquals(JobsClient.BASE, created.get("model").asText());
        assertEquals(trainFile, created.get("training_file").asText());
        assertEquals("lora", created.get("method").get("type").asText());
        JsonNode hp = created.get("method").get("lora").get("hyperparameters");
        assertEquals(6, hp.get("max_steps").asInt());
        assertEquals(4, hp.get("batch_size").asInt());
        assertEquals(0.02, hp.get("learning_rate").asDouble(), 1e-12);
        assertEquals(hp, created.get("hyperparameters"));

        JsonNode done = client.waitForStatus(id, "succeeded");
        System.err.println("JobsTest: LoRA job of 6 steps took " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        String name = done.get("fine_tuned_model").asText();
        assertTrue(name.startsWith("ft:" + JobsClient.BASE + ":demo:"), done.toString());
        assertEquals(6, done.get("step").asInt());
        assertEquals(6L * 4 * 256, done.get("trained_tokens").asLong());
        assertTrue(done.get("finished_at").asLong() >= done.get("created_at").asLong());
        assertTrue(done.get("error").isNull());
        JsonNode metrics = done.get("metrics");
        assertTrue(metrics.get("before").has("loss") && metrics.get("after").has("loss"), done.toString());
        assertTrue(metrics.get("after").get("loss").asDouble() < metrics.get("before").get("loss").asDouble(), done.toString());
        assertTrue(Files.isDirectory(dataDir.resolve(done.get("result_dir").asText())));

        // callable by name, no restart, and different from the base model
        assertTrue(client.modelIds().contains(name));
        String base = client.complete(JobsClient.BASE, "Once upon a time", 24);
        String tuned = client.complete(name, "Once upon a time", 24);
        assertNotEquals(base, tuned);
        String chat = JobsClient.JSON.createObjectNode().put("model", name).put("max_tokens", 16).put("temperature", 0)
                .set("messages", JobsClient.JSON.readTree("[{\"role\":\"user\",\"content\":\"Give me a color.\"}]")).toString();
        JsonNode reply = client.ok(client.send("POST", "/v1/chat/completions", chat, INFER));
        assertEquals(name, reply.get("model").asText());
        assertFalse(reply.get("choices").get(0).get("message").get("content").asText().isEmpty());

        // events: created, started, one metrics event per step, checkpoints, success
        List<JsonNode> events = client.events(id);
        List<Integer> steps = new ArrayList<>();
        for (JsonNode e : events) {
            assertEquals("fine_tuning.job.event", e.get("object").asText());
            if (e.get("type").asText().equals("metrics")) {
                steps.add(e.get("data").get("step").asInt());
                assertTrue(e.get("data").has("train_loss") && e.get("data").has("learning_rate")
                        && e.get("data").has("tokens_per_second"), e.toString());
            }
        }
        assertEquals(List.of(1, 2, 3, 4, 5, 6), steps);
        assertTrue(events.get(0).get("message").asText().startsWith("Created fine-tuning job"), events.toString());
        assertTrue(events.stream().anyMatch(e -> e.get("message").asText().equals("Checkpoint written at step 2")));
        assertTrue(events.stream().anyMatch(e -> e.path("data").has("valid_loss")), "validation ran at the end");
        assertEquals("The job has successfully completed", events.get(events.size() - 1).get("message").asText());
        JsonNode newest = client.get("/v1/fine_tuning/jobs/" + id + "/events?limit=2");
        assertEquals(2, newest.get("data").size());
        assertTrue(newest.get("has_more").asBoolean());
        assertEquals("The job has successfully completed", newest.get("data").get(0).get("message").asText());

        JsonNode list = client.get("/v1/fine_tuning/jobs?limit=100");
        assertEquals("list", list.get("object").asText());
        assertTrue(list.get("data").findValuesAsText("id").contains(id));
        String text = client.send("GET", "/metrics", null, INFER).body();
        assertTrue(text.contains("tune4j_jobs{state=\"succeeded\"} "), text);
        assertTrue(text.contains("tune4j_jobs{state=\"queued\"} "), text);
        assertTrue(text.contains("tune4j_requests_total{endpoint=\"/v1/fine_tuning/jobs/{id}\""), text);
    }

    @Test
    void aJobWhoseDataCannotTrainFailsWithAnErrorObject() throws Exception {
        // valid JSONL, but no record has a layout that trains (instruction/output, messages, prompt/completion, text)
        String odd = client.uploadId("{\"colour\":\"red\"}\n{\"colour\":\"blue\"}\n".getBytes(StandardCharsets.UTF_8));
        String id = client.create(JobsClient.loraJob(odd, null, 2)).get("id").asText();
        JsonNode failed = client.waitFor(id, j -> j.get("status").asText().equals("failed"), Duration.ofSeconds(60));
        JsonNode e = failed.get("error");
        assertTrue(e.isObject(), failed.toString());
        assertFalse(e.get("code").asText().isEmpty(), e.toString());
        assertTrue(e.get("message").asText().startsWith(odd + ":1: "), e.toString()); // the file by id, not its path
        assertFalse(e.get("message").asText().contains(dataDir.toString()), e.toString());
        assertTrue(e.has("param"), e.toString());
        assertTrue(failed.get("fine_tuned_model").isNull());
        assertTrue(failed.get("finished_at").isNumber());
        List<JsonNode> events = client.events(id);
        JsonNode last = events.get(events.size() - 1);
        assertEquals("error", last.get("level").asText());
        assertTrue(last.get("message").asText().startsWith("Fine-tuning job failed: "), last.toString());
    }

    @Test
    void aPrefixTuningJobIsServedByNameToo() throws Exception {
        ObjectNode job = JobsClient.JSON.createObjectNode().put("model", JobsClient.BASE).put("training_file", trainFile);
        job.putObject("method").put("type", "prefix").putObject("hyperparameters").put("max_steps", 2).put("batch_size", 4)
                .put("seq_len", 256).put("virtual_tokens", 4).put("learning_rate", 3e-2);
        JsonNode done = client.waitForStatus(client.create(job).get("id").asText(), "succeeded");
        String name = done.get("fine_tuned_model").asText();
        assertEquals("prefix", done.get("method").get("type").asText());
        assertEquals(4, done.get("method").get("prefix").get("hyperparameters").get("virtual_tokens").asInt());
        assertTrue(client.modelIds().contains(name), client.modelIds().toString());
        assertFalse(client.complete(name, "Once upon a time", 8).isEmpty());
        assertFalse(client.complete(JobsClient.BASE, "Once upon a time", 8).isEmpty());
    }

    @Test
    void eventsFollowAsServerSentEventsUntilTheJobEnds() throws Exception {
        String id = client.create(JobsClient.loraJob(trainFile, null, 4)).get("id").asText();
        HttpRequest req = HttpRequest.newBuilder(server.uri().resolve("/v1/fine_tuning/jobs/" + id + "/events"))
                .header("Authorization", "Bearer " + ADMIN).header("Accept", "text/event-stream").GET().build();
        HttpResponse<Stream<String>> r = client.http.send(req, HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<Long> ids = new ArrayList<>();
        List<JsonNode> data = new ArrayList<>();
        try (Stream<String> lines = r.body()) {
            for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
                String line = it.next();
                if (line.startsWith("id: ")) ids.add(Long.parseLong(line.substring(4)));
                if (line.equals("data: [DONE]")) break;
                if (line.startsWith("data: ")) data.add(JobsClient.JSON.readTree(line.substring(6)));
            }
        }
        JsonNode last = data.get(data.size() - 1);
        assertEquals("fine_tuning.job", last.get("object").asText());
        assertEquals("succeeded", last.get("status").asText());
        List<JsonNode> events = data.subList(0, data.size() - 1);
        assertEquals(events.size(), ids.size());
        for (int i = 0; i < ids.size(); i++) {
            assertEquals(i + 1, ids.get(i)); // every event once, in order
            assertEquals(ids.get(i), events.get(i).get("seq").asLong());
        }
        assertEquals(4, events.stream().filter(e -> e.get("type").asText().equals("metrics")).count());
        assertEquals(client.events(id).size(), events.size());

        // a client that reconnects with Last-Event-ID gets only what followed, then the end
        HttpRequest again = HttpRequest.newBuilder(server.uri().resolve("/v1/fine_tuning/jobs/" + id + "/events?stream=true"))
                .header("Authorization", "Bearer " + ADMIN).header("Last-Event-ID", String.valueOf(ids.size() - 2)).GET().build();
        String tail = client.http.send(again, HttpResponse.BodyHandlers.ofString()).body();
        String[] frames = tail.split("\n\n");
        assertEquals(4, frames.length, tail); // two events, the final job, [DONE]
        assertTrue(frames[0].startsWith("id: " + (ids.size() - 1) + "\n"), tail);
        assertEquals("data: [DONE]", frames[3]);
    }

    @Test
    void cancelStopsARunningJobAndAQueuedOne() throws Exception {
        ObjectNode longJob = JobsClient.loraJob(trainFile, null, 100_000);
        String running = client.create(longJob).get("id").asText();
        String queued = client.create(JobsClient.loraJob(trainFile, null, 100_000)).get("id").asText();
        client.waitFor(running, j -> j.get("step").asInt() >= 2, Duration.ofSeconds(60));
        assertEquals("queued", client.get("/v1/fine_tuning/jobs/" + queued).get("status").asText());

        JsonNode c = client.ok(client.send("POST", "/v1/fine_tuning/jobs/" + queued + "/cancel", null));
        assertEquals("cancelled", c.get("status").asText());
        c = client.ok(client.send("POST", "/v1/fine_tuning/jobs/" + running + "/cancel", null));
        assertEquals("cancelled", c.get("status").asText());
        assertTrue(c.get("fine_tuned_model").isNull());
        int stepAtCancel = c.get("step").asInt();
        Thread.sleep(300);
        JsonNode later = client.get("/v1/fine_tuning/jobs/" + running);
        assertEquals("cancelled", later.get("status").asText());
        assertTrue(later.get("step").asInt() <= stepAtCancel + 1, later.toString());
        assertEquals("cancelled", client.ok(client.send("POST", "/v1/fine_tuning/jobs/" + running + "/cancel", null))
                .get("status").asText()); // unchanged
        List<JsonNode> events = client.events(running);
        assertEquals("Fine-tuning job cancelled", events.get(events.size() - 1).get("message").asText());
        assertFalse(client.modelIds().stream().anyMatch(m -> m.startsWith("ft:")
                && m.endsWith(running.substring(running.length() - 8))));
        // the worker is free again: the next job runs
        String next = client.create(JobsClient.loraJob(trainFile, null, 2)).get("id").asText();
        client.waitForStatus(next, "succeeded");
    }

    // ------------------------------------------------------------------ refusals

    @Test
    void keysAndScopesAreChecked() throws Exception {
        for (String[] call : new String[][] {{"GET", "/v1/files"}, {"POST", "/v1/files"}, {"GET", "/v1/fine_tuning/jobs"},
                {"POST", "/v1/fine_tuning/jobs"}, {"GET", "/v1/fine_tuning/jobs/ftjob-x/events"},
                {"POST", "/v1/fine_tuning/jobs/ftjob-x/cancel"}}) {
            String body = call[0].equals("POST") ? "{}" : null;
            JsonNode e = client.error(401, client.send(call[0], call[1], body, null));
            assertEquals("invalid_api_key", e.get("code").asText());
            client.error(401, client.send(call[0], call[1], body, "wrong-key"));
            e = client.error(403, client.send(call[0], call[1], body, INFER));
            assertEquals("insufficient_scope", e.get("code").asText());
        }
        assertEquals(200, client.send("GET", "/health", null, null).statusCode());
    }

    @Test
    void badRequestsAreRefusedNamingTheField() throws Exception {
        assertEquals("training_file", client.error(400, client.send("POST", "/v1/fine_tuning/jobs",
                "{\"model\":\"" + JobsClient.BASE + "\"}")).get("param").asText());
        assertEquals("model", client.error(400, client.send("POST", "/v1/fine_tuning/jobs",
                "{\"training_file\":\"" + trainFile + "\"}")).get("param").asText());
        JsonNode e = client.error(404, client.send("POST", "/v1/fine_tuning/jobs",
                JobsClient.loraJob(trainFile, null, 2).put("model", "gpt-4o-mini").toString()));
        assertEquals("model", e.get("param").asText());
        assertEquals("model_not_found", e.get("code").asText());
        ObjectNode badMethod = JobsClient.loraJob(trainFile, null, 2);
        ((ObjectNode) badMethod.get("method")).put("type", "kto");
        assertEquals("method.type", client.error(400, client.send("POST", "/v1/fine_tuning/jobs", badMethod.toString()))
                .get("param").asText());
        ObjectNode unknown = JobsClient.loraJob(trainFile, null, 2);
        ((ObjectNode) unknown.get("method").get("lora").get("hyperparameters")).put("bogus", 1);
        assertEquals("hyperparameters.bogus", client.error(400, client.send("POST", "/v1/fine_tuning/jobs", unknown.toString()))
                .get("param").asText());
        ObjectNode epochs = JobsClient.JSON.createObjectNode().put("model", JobsClient.BASE).put("training_file", trainFile);
        epochs.putObject("hyperparameters").put("n_epochs", "many");
        assertEquals("hyperparameters.n_epochs", client.error(400, client.send("POST", "/v1/fine_tuning/jobs",
                epochs.toString())).get("param").asText());
        ObjectNode tooLong = JobsClient.loraJob(trainFile, null, 2);
        ((ObjectNode) tooLong.get("method").get("lora").get("hyperparameters")).put("seq_len", 100_000);
        assertEquals("hyperparameters.seq_len", client.error(400, client.send("POST", "/v1/fine_tuning/jobs", tooLong.toString()))
                .get("param").asText());
        ObjectNode truncation = JobsClient.loraJob(trainFile, null, 2);
        ((ObjectNode) truncation.get("method").get("lora").get("hyperparameters")).put("truncation", "middle");
        JsonNode te = client.error(400, client.send("POST", "/v1/fine_tuning/jobs", truncation.toString()));
        assertEquals("hyperparameters.truncation", te.get("param").asText());
        assertTrue(te.get("message").asText().contains("[keep-response, left, right, drop]"), te.toString());
        assertEquals("training_file", client.error(400, client.send("POST", "/v1/fine_tuning/jobs",
                JobsClient.loraJob("file-000000000000000000000000", null, 2).toString())).get("param").asText());
        assertEquals(400, client.send("POST", "/v1/fine_tuning/jobs", "not json").statusCode());
        client.error(404, client.send("GET", "/v1/fine_tuning/jobs/ftjob-nope", null));
        client.error(404, client.send("GET", "/v1/fine_tuning/jobs/ftjob-nope/events", null));
        client.error(404, client.send("GET", "/v1/fine_tuning/jobs/ftjob-nope/events?stream=true", null));
        client.error(404, client.send("POST", "/v1/fine_tuning/jobs/ftjob-nope/cancel", null));
        assertEquals("limit", client.error(400, client.send("GET", "/v1/fine_tuning/jobs?limit=0", null)).get("param").asText());
        client.error(405, client.send("DELETE", "/v1/fine_tuning/jobs", null));
    }

    @Test
    void pathsInsteadOfFileIdsAreRefusedAndNeverOpened() throws Exception {
        Path outside = Files.createTempFile("tune4j-outside", ".jsonl");
        Files.write(outside, JobsClient.alpacaJsonl(8, 0));
        String escape = "../" + dataDir.relativize(outside.toAbsolutePath()).toString().replace('\\', '/');
        for (String name : List.of("../x", escape, outside.toString(), "files/../../x.jsonl", "file-abc/../../x",
                "..\\x", "C:\\x.jsonl")) {
            for (String field : List.of("training_file", "validation_file")) {
                ObjectNode job = JobsClient.loraJob(trainFile, null, 2).put(field, name);
                JsonNode e = client.error(403, client.send("POST", "/v1/fine_tuning/jobs", job.toString()));
                assertEquals(field, e.get("param").asText());
                assertEquals("path_not_allowed", e.get("code").asText());
            }
        }
        // nor through the URL: ids only, anything else is not found
        for (String path : List.of("/v1/files/..%2F..%2Fetc%2Fpasswd", "/v1/files/../jobs", "/v1/files/" + outside.getFileName())) {
            int st = client.send("GET", path, null).statusCode();
            assertTrue(st == 404 || st == 400, path + " -> " + st);
        }
        assertFalse(client.get("/v1/fine_tuning/jobs?limit=100").get("data").findValuesAsText("training_file").contains(escape));
    }

    // ------------------------------------------------------------------ gRPC

    @Test
    void grpcCreateJobAndGetJobRunOnTheSameService() throws Exception {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcAddress().getPort()).usePlaintext().build();
        try {
            Metadata auth = new Metadata();
            auth.put(GrpcAuthInterceptor.AUTHORIZATION, "Bearer " + ADMIN);
            Tune4jGrpc.Tune4jBlockingStub stub = Tune4jGrpc.newBlockingStub(ch)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth)).withDeadlineAfter(60, TimeUnit.SECONDS);
            Struct hp = Struct.newBuilder().putFields("max_steps", Value.newBuilder().setNumberValue(2).build())
                    .putFields("batch_size", Value.newBuilder().setNumberValue(4).build())
                    .putFields("seq_len", Value.newBuilder().setNumberValue(256).build()).build();
            Job created = stub.createJob(CreateJobRequest.newBuilder().setModel(JobsClient.BASE).setTrainingFile(trainFile)
                    .setMethodType("lora").setHyperparameters(hp).setSuffix("grpc").build());
            assertTrue(created.getId().startsWith("ftjob-"));
            assertEquals(2, created.getTotalSteps());
            Job j = created;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!j.getStatus().equals("succeeded") && System.nanoTime() < end) {
                assertFalse(j.getStatus().equals("failed") || j.getStatus().equals("cancelled"), j.toString());
                Thread.sleep(25);
                j = stub.getJob(GetJobRequest.newBuilder().setId(created.getId()).build());
            }
            assertEquals("succeeded", j.getStatus());
            assertTrue(j.getFineTunedModel().contains(":grpc:"), j.toString());
            // the same job over HTTP
            assertEquals(j.getFineTunedModel(), client.get("/v1/fine_tuning/jobs/" + j.getId()).get("fine_tuned_model").asText());
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
