package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;

/** The job tests' HTTP client: Java's HttpClient against a server on loopback, plus the training data they use. */
final class JobsClient {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String BASE = "stories260K-hf";

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    URI uri;
    final String key;

    JobsClient(URI uri, String key) {
        this.uri = uri;
        this.key = key;
    }

    HttpResponse<String> send(String method, String path, String body, String withKey) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri.resolve(path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        if (withKey != null) b.header("Authorization", "Bearer " + withKey);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> send(String method, String path, String body) throws Exception {
        return send(method, path, body, key);
    }

    JsonNode ok(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    JsonNode get(String path) throws Exception {
        return ok(send("GET", path, null));
    }

    /** The error object of a failed request, checking its status. */
    JsonNode error(int status, HttpResponse<String> r) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("error");
    }

    /** OpenAI's multipart upload: purpose and file parts. */
    HttpResponse<String> upload(byte[] content, String filename, String purpose) throws Exception {
        String boundary = "----tune4j-test-boundary";
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (purpose != null) {
            body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose + "\r\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
                + "\"\r\nContent-Type: application/jsonl\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.writeBytes(content);
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest r = HttpRequest.newBuilder(uri.resolve("/v1/files")).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + key).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    String uploadId(byte[] content) throws Exception {
        return ok(upload(content, "train.jsonl", "fine-tune")).get("id").asText();
    }

    /** A LoRA job over the file: few, short steps; checkpoints every 2 steps. */
    static ObjectNode loraJob(String trainingFile, String validationFile, int maxSteps) {
        ObjectNode job = JSON.createObjectNode().put("model", BASE).put("training_file", trainingFile);
        if (validationFile != null) job.put("validation_file", validationFile);
        ObjectNode hp = job.putObject("method").put("type", "lora").putObject("lora").putObject("hyperparameters");
        hp.put("max_steps", maxSteps).put("batch_size", 4).put("seq_len", 256).put("learning_rate", 2e-2)
                .put("lora_r", 8).put("lora_alpha", 16).put("checkpoint_every", 2);
        job.put("seed", 7);
        return job;
    }

    JsonNode create(ObjectNode job) throws Exception {
        return ok(send("POST", "/v1/fine_tuning/jobs", job.toString()));
    }

    /** Polls the job until the condition holds (failing the test on a different terminal state). */
    JsonNode waitFor(String id, Predicate<JsonNode> condition, Duration limit) throws Exception {
        long end = System.nanoTime() + limit.toNanos();
        JsonNode j = null;
        while (System.nanoTime() < end) {
            j = get("/v1/fine_tuning/jobs/" + id);
            if (condition.test(j)) return j;
            String st = j.get("status").asText();
            if (st.equals("failed") || st.equals("cancelled") || st.equals("succeeded")) {
                throw new AssertionError("job ended " + st + " before the awaited condition: " + j);
            }
            Thread.sleep(25);
        }
        throw new AssertionError("timed out waiting for job " + id + ": " + j);
    }

    JsonNode waitForStatus(String id, String status) throws Exception {
        return waitFor(id, j -> j.get("status").asText().equals(status), Duration.ofSeconds(90));
    }

    /** Every event of the job, oldest first (the list pages newest first). */
    List<JsonNode> events(String id) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        String after = null;
        while (true) {
            JsonNode page = get("/v1/fine_tuning/jobs/" + id + "/events?limit=100" + (after == null ? "" : "&after=" + after));
            for (JsonNode e : page.get("data")) out.add(e);
            if (!page.get("has_more").asBoolean()) break;
            after = out.get(out.size() - 1).get("id").asText();
        }
        out.sort(Comparator.comparingLong(e -> e.get("seq").asLong()));
        return out;
    }

    List<String> modelIds() throws Exception {
        List<String> ids = new ArrayList<>();
        for (JsonNode m : get("/v1/models").get("data")) ids.add(m.get("id").asText());
        return ids;
    }

    String complete(String model, String prompt, int maxTokens) throws Exception {
        String body = JSON.createObjectNode().put("model", model).put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0).toString();
        return ok(send("POST", "/v1/completions", body)).get("choices").get(0).get("text").asText();
    }

    /**
     * A few dozen Alpaca records of the fixture as JSONL: the shortest ones, so that most of each
     * fits a 256-token sequence with the prompt template.
     */
    static byte[] alpacaJsonl(int n, int skip) throws Exception {
        Path f = TestModel.require("data/alpaca/alpaca_en_demo.json");
        ArrayNode all = (ArrayNode) JSON.readTree(Files.readString(f));
        List<JsonNode> records = new ArrayList<>();
        all.forEach(records::add);
        records.sort(Comparator.comparingInt(r -> r.path("instruction").asText().length() + r.path("input").asText().length()
                + r.path("output").asText().length()));
        StringBuilder b = new StringBuilder();
        for (JsonNode r : records.subList(skip, skip + n)) b.append(JSON.writeValueAsString(r)).append('\n');
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }
}
