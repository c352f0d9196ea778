package io.tune4j.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for huggingface.co on 127.0.0.1 serving one repository the way the hub does: the API
 * lists the files, resolve URLs answer small files directly and redirect LFS files (with their
 * sha256 as ETag) to a CDN, which honours Range. Knobs break things on purpose.
 */
final class FakeHub implements AutoCloseable {

    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    /** One request as the server saw it. */
    record Req(String method, String path, String range, String authorization, boolean cdn) {}

    record FakeFile(String name, byte[] data, boolean lfs) {
        String sha256() {
            return HubClient.sha256Hex(data);
        }
    }

    private static final Pattern RESOLVE = Pattern.compile("/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)");
    private static final Pattern API = Pattern.compile("/api/models/([^/]+)/([^/]+)/revision/([^/]+)");

    final String owner;
    final String name;
    final Map<String, FakeFile> files = new LinkedHashMap<>();
    private final HttpServer hub;
    private final HttpServer cdn;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-hub");
        t.setDaemon(true);
        return t;
    });
    private final List<Req> log = new ArrayList<>();

    volatile String requiredToken;
    volatile String cutFile;
    volatile int cutsLeft;
    volatile String stallFile;
    volatile int stallsLeft;
    volatile long stallMillis = 3000;
    volatile String corruptFile;
    volatile boolean ignoreRange;

    /** With separateCdn the CDN listens on its own port, i.e. another origin than the hub. */
    FakeHub(String owner, String name, boolean separateCdn) throws IOException {
        this.owner = owner;
        this.name = name;
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        hub = HttpServer.create(new InetSocketAddress(loopback, 0), 16);
        hub.setExecutor(pool);
        hub.createContext("/", this::handle);
        hub.start();
        if (separateCdn) {
            cdn = HttpServer.create(new InetSocketAddress(loopback, 0), 16);
            cdn.setExecutor(pool);
            cdn.createContext("/", this::handle);
            cdn.start();
        } else {
            cdn = hub;
        }
    }

    FakeHub add(String file, byte[] data, boolean lfs) {
        files.put(file, new FakeFile(file, data, lfs));
        return this;
    }

    FakeHub add(String file, String text) {
        return add(file, text.getBytes(StandardCharsets.UTF_8), false);
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    private String cdnBase() {
        return "http://127.0.0.1:" + cdn.getAddress().getPort();
    }

    synchronized List<Req> requests() {
        return List.copyOf(log);
    }

    /** Requests that fetch or describe file contents (everything except the API listing). */
    List<Req> fileRequests() {
        return requests().stream().filter(r -> !r.path().startsWith("/api/")).toList();
    }

    List<Req> cdnRequests() {
        return requests().stream().filter(Req::cdn).toList();
    }

    private void handle(HttpExchange ex) {
        try {
            String path = ex.getRequestURI().getPath();
            boolean isCdn = path.startsWith("/cdn/");
            synchronized (this) {
                log.add(new Req(ex.getRequestMethod(), path, ex.getRequestHeaders().getFirst("Range"),
                        ex.getRequestHeaders().getFirst("Authorization"), isCdn));
            }
            if (isCdn) {
                serveContent(ex, path.substring("/cdn/".length()));
                return;
            }
            if (requiredToken != null && !("Bearer " + requiredToken).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().set("X-Error-Message", "Invalid credentials in Authorization header");
                send(ex, 401, "{\"error\":\"Invalid credentials\"}");
                return;
            }
            Matcher api = API.matcher(path);
            if (api.matches()) {
                if (!repoMatches(api.group(1), api.group(2))) {
                    ex.getResponseHeaders().set("X-Error-Code", "RepoNotFound");
                    send(ex, 404, "{\"error\":\"Repository not found\"}");
                } else if (!revisionMatches(api.group(3))) {
                    ex.getResponseHeaders().set("X-Error-Code", "RevisionNotFound");
                    send(ex, 404, "{\"error\":\"Invalid rev id\"}");
                } else {
                    StringBuilder json = new StringBuilder("{\"id\":\"" + owner + "/" + name + "\",\"sha\":\"" + COMMIT + "\",\"siblings\":[");
                    int i = 0;
                    for (String f : files.keySet()) {
                        json.append(i++ == 0 ? "" : ",").append("{\"rfilename\":\"").append(f).append("\"}");
                    }
                    send(ex, 200, json.append("]}").toString());
                }
                return;
            }
            Matcher res = RESOLVE.matcher(path);
            if (!res.matches() || !repoMatches(res.group(1), res.group(2)) || !revisionMatches(res.group(3))) {
                send(ex, 404, "not found");
                return;
            }
            FakeFile f = files.get(res.group(4));
            if (f == null) {
                ex.getResponseHeaders().set("X-Error-Code", "EntryNotFound");
                send(ex, 404, "Entry not found");
                return;
            }
            var h = ex.getResponseHeaders();
            h.set("X-Repo-Commit", COMMIT);
            if (f.lfs()) {
                h.set("X-Linked-Etag", "\"" + f.sha256() + "\"");
                h.set("X-Linked-Size", Long.toString(f.data().length));
                h.set("ETag", "\"" + f.sha256() + "\"");
                h.set("Location", cdnBase() + "/cdn/" + f.sha256() + "?signature=abc");
                ex.sendResponseHeaders(302, -1);
            } else {
                // Small files come straight from the hub, tagged with a git-blob-like hash.
                h.set("ETag", "\"" + f.sha256().substring(0, 40) + "\"");
                if (ex.getRequestMethod().equals("HEAD")) {
                    h.set("Content-Length", Long.toString(f.data().length));
                    ex.sendResponseHeaders(200, -1);
                } else {
                    ex.sendResponseHeaders(200, f.data().length);
                    ex.getResponseBody().write(f.data());
                }
            }
        } catch (IOException e) {
            // The client went away; nothing to tell anyone.
        } finally {
            try {
                // With bytes missing (cut or stalled responses) this drops the connection mid-body.
                ex.close();
            } catch (RuntimeException e) {
                // expected for cut responses
            }
        }
    }

    private void serveContent(HttpExchange ex, String sha) throws IOException {
        FakeFile f = files.values().stream().filter(x -> x.sha256().equals(sha)).findFirst().orElse(null);
        if (f == null) {
            send(ex, 404, "no such blob");
            return;
        }
        byte[] data = f.data().clone();
        if (f.name().equals(corruptFile)) {
            data[data.length / 2] ^= 0x5a;
        }
        int start = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null && !ignoreRange) {
            Matcher m = Pattern.compile("bytes=(\\d+)-").matcher(range);
            if (m.matches()) {
                start = Integer.parseInt(m.group(1));
            }
        }
        if (start >= data.length && start > 0) {
            ex.getResponseHeaders().set("Content-Range", "bytes */" + data.length);
            ex.sendResponseHeaders(416, -1);
            return;
        }
        if (start > 0) {
            ex.getResponseHeaders().set("Content-Range", "bytes " + start + "-" + (data.length - 1) + "/" + data.length);
        }
        int len = data.length - start;
        ex.sendResponseHeaders(start > 0 ? 206 : 200, len);
        OutputStream out = ex.getResponseBody();
        if (f.name().equals(cutFile) && cutsLeft > 0) {
            cutsLeft--;
            out.write(data, start, len / 2);
            out.flush();
            // Closing with bytes missing makes the server drop the connection mid-body.
            return;
        }
        if (f.name().equals(stallFile) && stallsLeft > 0) {
            stallsLeft--;
            out.write(data, start, len / 2);
            out.flush();
            try {
                Thread.sleep(stallMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        out.write(data, start, len);
    }

    private boolean repoMatches(String o, String n) {
        return o.equals(owner) && n.equals(name);
    }

    private static boolean revisionMatches(String rev) {
        return rev.equals("main") || rev.equals(COMMIT);
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    @Override
    public void close() {
        hub.stop(0);
        if (cdn != hub) {
            cdn.stop(0);
        }
        pool.shutdownNow();
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
