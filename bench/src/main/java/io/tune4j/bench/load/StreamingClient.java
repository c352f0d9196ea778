package io.tune4j.bench.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Sends one streaming /v1/completions request and reads its server-sent events as they arrive.
 * While the stream runs it only timestamps lines; the JSON is parsed after the last one, so the
 * client spends as little of the shared CPUs as it can while the server is being measured.
 */
final class StreamingClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final URI completions;
    private final int maxTokens;

    StreamingClient(HttpClient http, URI server, int maxTokens) {
        this.http = http;
        this.completions = server.resolve("/v1/completions");
        this.maxTokens = maxTokens;
    }

    /**
     * Greedy, ignore_eos (a random-weight model may emit EOS early; every request must produce
     * exactly maxTokens), usage in the last event. firstText runs when the first event arrives (in a
     * completion stream every event before the finishing one carries text).
     */
    RequestSample complete(String model, String prompt, Runnable firstText) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode().put("model", model).put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0).put("ignore_eos", true).put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        HttpRequest req = HttpRequest.newBuilder(completions).timeout(Duration.ofMinutes(5))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        long sent = System.nanoTime();
        HttpResponse<Stream<String>> r = http.send(req, HttpResponse.BodyHandlers.ofLines());
        List<String> events = new ArrayList<>(maxTokens + 4);
        long[] at = new long[maxTokens + 4];
        try (Stream<String> lines = r.body()) {
            if (r.statusCode() != 200) {
                throw new IOException("HTTP " + r.statusCode() + " from " + completions + ": " + String.join("\n", lines.toList()));
            }
            for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
                String line = it.next();
                if (!line.startsWith("data: ")) continue;
                if (events.size() == at.length) at = java.util.Arrays.copyOf(at, at.length * 2);
                at[events.size()] = System.nanoTime();
                if (events.isEmpty() && firstText != null) firstText.run();
                events.add(line);
            }
        }
        long end = System.nanoTime();
        return parse(events, at, sent, end);
    }

    private RequestSample parse(List<String> events, long[] at, long sent, long end) throws IOException {
        long[] text = new long[events.size()];
        int nText = 0, tokens = -1;
        String finish = null;
        for (int i = 0; i < events.size(); i++) {
            String payload = events.get(i).substring(6);
            if (payload.equals("[DONE]")) continue;
            JsonNode e = JSON.readTree(payload);
            if (e.has("error")) throw new IOException("the stream ended with an error: " + payload);
            if (e.hasNonNull("usage")) tokens = e.get("usage").get("completion_tokens").asInt();
            for (JsonNode c : e.path("choices")) {
                if (!c.path("text").asText("").isEmpty()) text[nText++] = at[i];
                if (c.hasNonNull("finish_reason")) finish = c.get("finish_reason").asText();
            }
        }
        if (!"length".equals(finish) || tokens != maxTokens) {
            throw new IOException("expected " + maxTokens + " tokens ending by length, got " + tokens + " ending by " + finish);
        }
        if (nText == 0) throw new IOException("the stream carried no text");
        return new RequestSample(sent, end, java.util.Arrays.copyOf(text, nText), tokens);
    }
}
