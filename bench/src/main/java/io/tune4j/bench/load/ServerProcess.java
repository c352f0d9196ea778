package io.tune4j.bench.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * `tune4j serve` in its own process, as clients meet it in production: the load generator's
 * threads and heap never share a JVM with the server's.
 */
final class ServerProcess implements AutoCloseable {
    /** The line ServeCommand prints once it listens: "tune4j: serving ID at http://HOST:PORT/v1 ...". */
    private static final Pattern SERVING = Pattern.compile("serving \\S+ at (http://\\S+)/v1");

    private final Process process;
    private final URI uri;
    private final ArrayDeque<String> lastLines;

    private ServerProcess(Process process, URI uri, ArrayDeque<String> lastLines) {
        this.process = process;
        this.uri = uri;
        this.lastLines = lastLines;
    }

    /** Runs launcher with args (serve ... --port 0) and waits until it announces its address. */
    static ServerProcess start(List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        CompletableFuture<URI> address = new CompletableFuture<>();
        ArrayDeque<String> last = new ArrayDeque<>();
        Thread reader = new Thread(() -> {
            // stderr carries the access log (one line per request): read it all so the pipe never fills
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (last) {
                        if (last.size() == 40) last.removeFirst();
                        last.addLast(line);
                    }
                    Matcher m = SERVING.matcher(line);
                    if (!address.isDone() && m.find()) address.complete(URI.create(m.group(1)));
                }
            } catch (IOException ignored) {
                // the process ended
            }
            address.completeExceptionally(new IOException("the server exited before it listened"));
        }, "server-stderr");
        reader.setDaemon(true);
        reader.start();
        try {
            return new ServerProcess(p, address.get(timeoutSeconds, TimeUnit.SECONDS), last);
        } catch (ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            String why = e instanceof TimeoutException ? "did not listen within " + timeoutSeconds + " s" : e.getCause().getMessage();
            throw new IOException("server " + command + " " + why + "; its last output:\n" + String.join("\n", snapshot(last)));
        }
    }

    URI uri() {
        return uri;
    }

    boolean alive() {
        return process.isAlive();
    }

    /** CPU time the server process has used so far, all its threads together (NaN where the OS does not say). */
    double cpuSeconds() {
        return process.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }

    List<String> lastLines() {
        return snapshot(lastLines);
    }

    private static List<String> snapshot(ArrayDeque<String> lines) {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    /** SIGTERM: the server's shutdown hook drains and releases the model; a hung one is killed. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
