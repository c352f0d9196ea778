package io.tune4j.bench.load;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Reads the server's step-time histogram (tune4j_step_duration_seconds) from /metrics. */
final class StepTimeProbe {
    /** Total step seconds and step count at one scrape; two readings give the mean step in between. */
    record Reading(double seconds, long steps) {
        double meanMillisSince(Reading before) {
            long n = steps - before.steps;
            if (n <= 0) throw new IllegalStateException("the server ran no step between the two readings");
            return (seconds - before.seconds) / n * 1e3;
        }

        long stepsSince(Reading before) {
            return steps - before.steps;
        }
    }

    private final HttpClient http;
    private final URI metrics;

    StepTimeProbe(HttpClient http, URI server) {
        this.http = http;
        this.metrics = server.resolve("/metrics");
    }

    Reading read() throws IOException, InterruptedException {
        String text = http.send(HttpRequest.newBuilder(metrics).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
        double sum = Double.NaN;
        long count = -1;
        for (String line : text.split("\n")) {
            if (line.startsWith("tune4j_step_duration_seconds_sum ")) sum = Double.parseDouble(line.substring(line.indexOf(' ') + 1));
            if (line.startsWith("tune4j_step_duration_seconds_count ")) count = Long.parseLong(line.substring(line.indexOf(' ') + 1));
        }
        if (Double.isNaN(sum) || count < 0) throw new IOException(metrics + " has no tune4j_step_duration_seconds histogram");
        return new Reading(sum, count);
    }
}
