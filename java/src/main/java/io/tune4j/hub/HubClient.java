package io.tune4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.hub.HubException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.BodySubscribers;
import java.net.http.HttpResponse.ResponseInfo;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downloads model snapshots from the Hugging Face Hub (or a mirror) into the huggingface_hub cache
 * layout ({@link HubCache}).
 *
 * <p>Per file: a HEAD on {endpoint}/{repo}/resolve/{commit}/{file} yields the ETag (the sha256 of the
 * content for LFS files), the size and where the bytes really are (usually a redirect to a CDN); a
 * GET there, resumed with Range from a previous partial download, fills blobs/{etag}.incomplete,
 * which is checked and renamed into place once complete.
 */
public final class HubClient {

    private static final Logger LOG = LoggerFactory.getLogger(HubClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,200}");
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");
    private static final int MAX_REDIRECTS = 10;
    private static final String USER_AGENT = "tune4j/0.1 java/" + Runtime.version().feature();

    // FileLock is per process and throws when the same JVM locks a file twice, so threads of this
    // JVM queue up here first.
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    /** What the hub says about one revision of a repository. */
    public record RepoInfo(String commit, List<String> files) {}

    /** What a HEAD on a resolve URL says about one file. */
    private record FileMeta(String etag, long size, URI location) {}

    private final HubConfig config;
    private final HubCache cache;
    private final DownloadProgress.Factory progress;
    private final HttpClient http;

    public HubClient(HubConfig config) {
        this(config, DownloadProgress.automatic());
    }

    public HubClient(HubConfig config, DownloadProgress.Factory progress) {
        this.config = config;
        this.cache = new HubCache(config.cacheDir());
        this.progress = progress;
        this.http = HttpClient.newBuilder()
                .connectTimeout(config.connectTimeout())
                // Redirects are followed by hand: the token must not travel to CDN hosts.
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    public HubConfig config() {
        return config;
    }

    public HubCache cache() {
        return cache;
    }

    /**
     * Makes sure the config, tokenizer and safetensors files of repo are in the cache and returns the
     * snapshot directory holding them. Offline, or when the hub cannot be reached, a snapshot already
     * in the cache is used instead.
     */
    public Path snapshot(RepoId repo) {
        if (config.offline()) {
            return cachedSnapshot(repo).orElseThrow(() -> new HubException(Reason.NOT_IN_CACHE,
                    "HF_HUB_OFFLINE is set and " + repo + " is not in the cache at " + cache.repoDir(repo)
                            + "; unset HF_HUB_OFFLINE to download it, or pass a local model directory with --model PATH"));
        }
        RepoInfo info;
        try {
            info = repoInfo(repo);
        } catch (HubException e) {
            Optional<Path> cached = e.reason() == Reason.UNREACHABLE ? cachedSnapshot(repo) : Optional.empty();
            if (cached.isEmpty()) {
                throw e;
            }
            LOG.warn("cannot reach {} ({}); using the cached snapshot {}", config.endpoint(),
                    describe(e.getCause(), config.endpoint()), cached.get());
            return cached.get();
        }
        List<String> files = FileSelection.select(repo, info.files());
        for (String f : files) {
            downloadFile(repo, info.commit(), f);
        }
        if (files.contains(FileSelection.SAFETENSORS_INDEX)) {
            byte[] index;
            try {
                index = Files.readAllBytes(cache.snapshotFile(repo, info.commit(), FileSelection.SAFETENSORS_INDEX));
            } catch (IOException e) {
                throw new HubException(Reason.OTHER, "cannot read the cached " + FileSelection.SAFETENSORS_INDEX
                        + " of " + repo + ": " + e, e);
            }
            for (String shard : FileSelection.shardsOf(repo, index)) {
                downloadFile(repo, info.commit(), shard);
            }
        }
        try {
            // Written last so that refs/ only ever names a complete snapshot, which offline mode relies on.
            cache.writeRef(repo, info.commit());
        } catch (IOException e) {
            throw new HubException(Reason.OTHER, "cannot write to the cache at " + cache.repoDir(repo) + ": " + e, e);
        }
        return cache.snapshotDir(repo, info.commit());
    }

    /** The snapshot the cache holds for repo's revision, if it looks complete. */
    public Optional<Path> cachedSnapshot(RepoId repo) {
        Optional<String> commit = cache.commitFor(repo);
        if (commit.isEmpty() || !SAFE_NAME.matcher(commit.get()).matches()) {
            return Optional.empty();
        }
        Path dir = cache.snapshotDir(repo, commit.get());
        try (var entries = Files.list(dir)) {
            if (entries.findAny().isEmpty()) {
                return Optional.empty();
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        Path index = dir.resolve(FileSelection.SAFETENSORS_INDEX);
        if (Files.isRegularFile(index)) {
            try {
                for (String shard : FileSelection.shardsOf(repo, Files.readAllBytes(index))) {
                    if (!Files.isRegularFile(dir.resolve(shard))) {
                        return Optional.empty();
                    }
                }
            } catch (IOException | HubException e) {
                return Optional.empty();
            }
        }
        return Optional.of(dir);
    }

    /** GET {endpoint}/api/models/{repo}/revision/{revision}: the commit and the file list. */
    public RepoInfo repoInfo(RepoId repo) {
        URI uri = URI.create(config.endpoint() + "/api/models/" + repo.repo() + "/revision/" + encode(repo.revision()));
        HttpResponse<String> r;
        try {
            r = exchange(repo, "GET", uri, false);
        } catch (IOException e) {
            throw unreachable(repo, e);
        }
        if (r.statusCode() != 200) {
            throw statusError(repo, null, r.statusCode(), r.headers(), r.uri(), r.body());
        }
        try {
            JsonNode root = JSON.readTree(r.body());
            String sha = root.path("sha").asText("");
            if (!SAFE_NAME.matcher(sha).matches()) {
                throw new HubException(Reason.OTHER, r.uri() + " returned no usable commit hash (\"sha\": \"" + sha + "\")");
            }
            List<String> files = new ArrayList<>();
            for (JsonNode s : root.path("siblings")) {
                String name = s.path("rfilename").asText(null);
                if (name != null) {
                    files.add(name);
                }
            }
            return new RepoInfo(sha, List.copyOf(files));
        } catch (IOException e) {
            throw new HubException(Reason.OTHER, r.uri() + " returned invalid JSON: " + e.getMessage(), e);
        }
    }

    /**
     * Makes sure snapshots/{commit}/{filename} of repo is in the cache, downloading it if needed, and
     * returns its path. A file already in the snapshot causes no request at all.
     */
    public Path downloadFile(RepoId repo, String commit, String filename) {
        FileSelection.checkFilename(repo, filename);
        if (cache.hasSnapshotFile(repo, commit, filename)) {
            return cache.snapshotFile(repo, commit, filename);
        }
        URI resolve = URI.create(config.endpoint() + "/" + repo.repo() + "/resolve/" + commit + "/" + encodePath(filename));
        FileMeta meta = head(repo, filename, resolve);
        String blobName = meta.etag() != null ? meta.etag() : null;
        // Without an ETag the blob cannot be named before it is downloaded; a name derived from the
        // file lets an interrupted download still be resumed, and the content hash names the blob.
        String partName = blobName != null ? blobName : sha256Hex((commit + "/" + filename).getBytes(StandardCharsets.UTF_8));
        try {
            Files.createDirectories(cache.repoDir(repo).resolve("blobs"));
            Files.createDirectories(cache.lockFile(repo, partName).getParent());
        } catch (IOException e) {
            throw new HubException(Reason.OTHER, "cannot create the cache directory " + cache.repoDir(repo) + ": " + e, e);
        }
        try (AutoCloseable lock = lock(cache.lockFile(repo, partName))) {
            Path blob = blobName != null ? cache.blob(repo, blobName) : null;
            if (blob == null || !Files.isRegularFile(blob)) {
                blob = downloadWithRetries(repo, filename, meta, cache.incomplete(repo, partName));
            }
            return cache.link(repo, commit, filename, blob);
        } catch (HubException e) {
            throw e;
        } catch (Exception e) {
            throw new HubException(Reason.OTHER, "cannot store " + repo + " " + filename + " in the cache at "
                    + cache.repoDir(repo) + ": " + e, e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // metadata

    private FileMeta head(RepoId repo, String filename, URI resolve) {
        HttpResponse<String> r;
        try {
            r = exchange(repo, "HEAD", resolve, true);
        } catch (IOException e) {
            throw unreachable(repo, e);
        }
        int s = r.statusCode();
        HttpHeaders h = r.headers();
        if (s != 200 && !isRedirect(s)) {
            throw statusError(repo, filename, s, h, r.uri(), null);
        }
        String etag = normalizeEtag(h.firstValue("X-Linked-Etag").or(() -> h.firstValue("ETag")).orElse(null));
        long size = h.firstValue("X-Linked-Size").or(() -> h.firstValue("Content-Length"))
                .map(HubClient::parseLongOrMinus1).orElse(-1L);
        URI location = isRedirect(s) ? location(r) : r.uri();
        return new FileMeta(etag, size, location);
    }

    /**
     * Sends method to uri and follows redirects; with stopAtEtag, a redirect that carries the file's
     * ETag ends the walk, as that response is the hub's answer and the Location the CDN's address.
     */
    private HttpResponse<String> exchange(RepoId repo, String method, URI uri, boolean stopAtEtag)
            throws IOException {
        for (int hop = 0; ; hop++) {
            HttpRequest req = request(uri, method).build();
            HttpResponse<String> r;
            try {
                r = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HubException(Reason.OTHER, "interrupted while talking to " + config.endpoint(), e);
            }
            if (!isRedirect(r.statusCode())) {
                return r;
            }
            HttpHeaders h = r.headers();
            if (stopAtEtag && (h.firstValue("X-Linked-Etag").isPresent() || h.firstValue("ETag").isPresent())) {
                return r;
            }
            if (hop >= MAX_REDIRECTS) {
                throw new HubException(Reason.OTHER, "too many redirects for " + repo + " starting at " + uri);
            }
            uri = location(r);
        }
    }

    private HttpRequest.Builder request(URI uri, String method) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(config.readTimeout())
                .header("User-Agent", USER_AGENT);
        if ("http".equalsIgnoreCase(uri.getScheme())) {
            // Plain-text HTTP/2 means an h2c upgrade dance that mirrors and proxies handle badly.
            b.version(HttpClient.Version.HTTP_1_1);
        }
        // The token is only for the hub itself; CDN URLs are pre-signed and other hosts must not see it.
        if (config.token() != null && sameOrigin(uri, config.endpoint())) {
            b.header("Authorization", "Bearer " + config.token());
        }
        return b;
    }

    private URI location(HttpResponse<?> r) {
        String loc = r.headers().firstValue("Location")
                .orElseThrow(() -> new HubException(Reason.OTHER, "redirect without Location from " + r.uri()));
        try {
            return r.uri().resolve(loc.trim());
        } catch (IllegalArgumentException e) {
            throw new HubException(Reason.OTHER, "invalid redirect Location '" + loc + "' from " + r.uri(), e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // transfer

    private Path downloadWithRetries(RepoId repo, String filename, FileMeta meta, Path part) {
        IOException last = null;
        for (int attempt = 1; attempt <= config.maxAttempts(); attempt++) {
            try {
                return downloadOnce(repo, filename, meta, part);
            } catch (IOException e) {
                last = e;
                if (attempt < config.maxAttempts()) {
                    LOG.warn("download of {} {} interrupted ({}); retrying ({}/{})", repo, filename, describe(e),
                            attempt + 1, config.maxAttempts());
                    try {
                        Thread.sleep(250L * attempt);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new HubException(Reason.OTHER, "interrupted while downloading " + repo, ie);
                    }
                }
            }
        }
        if (isConnectFailure(last)) {
            throw unreachable(repo, last);
        }
        long have = part.toFile().length();
        throw new HubException(Reason.TRANSFER, "download of " + repo + " " + filename + " failed after "
                + config.maxAttempts() + " attempt(s) (" + describe(last) + ")"
                + (have > 0 ? "; " + DownloadProgress.humanBytes(have) + " are kept and the next run resumes from there" : ""),
                last);
    }

    /**
     * One GET of the content into part, resuming from what part already holds. IOExceptions are
     * transient failures worth another attempt; HubExceptions are final.
     */
    private Path downloadOnce(RepoId repo, String filename, FileMeta meta, Path part) throws IOException {
        URI uri = meta.location();
        boolean restarted = false;
        for (int hop = 0; ; hop++) {
            long offset = Files.isRegularFile(part) ? Files.size(part) : 0;
            if (meta.size() >= 0 && offset > meta.size()) {
                // More than the whole file: a leftover from a different upload under the same name.
                Files.delete(part);
                offset = 0;
            }
            MessageDigest digest = sha256();
            if (offset > 0) {
                // Hashed here rather than on the HTTP thread, where a long pause would look like a stall.
                try (InputStream in = Files.newInputStream(part)) {
                    byte[] buf = new byte[1 << 16];
                    for (int n; (n = in.read(buf)) > 0; ) {
                        digest.update(buf, 0, n);
                    }
                }
            }
            HttpRequest.Builder rb = request(uri, "GET");
            if (offset > 0) {
                rb.header("Range", "bytes=" + offset + "-");
            }
            String label = repo + " " + filename;
            Outcome outcome;
            Sink sink = null;
            try (FileChannel ch = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ch.position(offset);
                sink = new Sink(ch, digest, offset, () -> progress.start(label, meta.size(), Files.size(part)));
                HttpResponse<Void> r = await(http.sendAsync(rb.build(), sink::choose), sink);
                outcome = sink.outcome;
                if (outcome == Outcome.BODY) {
                    ch.force(true);
                } else if (outcome == Outcome.REDIRECT) {
                    if (hop >= MAX_REDIRECTS) {
                        throw new HubException(Reason.OTHER, "too many redirects downloading " + label);
                    }
                    uri = location(r);
                    continue;
                } else if (outcome == Outcome.RESTART) {
                    if (restarted) {
                        throw new IOException("server answered the range request with a range that does not fit");
                    }
                    restarted = true;
                } else {
                    int s = r.statusCode();
                    if (s == 429 || s >= 500) {
                        throw new IOException("HTTP " + s + " from " + r.uri());
                    }
                    throw statusError(repo, filename, s, r.headers(), r.uri(), sink.errorBody);
                }
            } finally {
                if (sink != null) {
                    sink.closeProgress();
                }
            }
            if (outcome == Outcome.RESTART) {
                Files.deleteIfExists(part);
                continue;
            }
            return finish(repo, filename, meta, part, digest);
        }
    }

    private Path finish(RepoId repo, String filename, FileMeta meta, Path part, MessageDigest digest) throws IOException {
        long got = Files.size(part);
        if (meta.size() >= 0 && got < meta.size()) {
            // The body ended cleanly but early (a proxy cutting it short); keep it and resume.
            throw new IOException("connection closed after " + got + " of " + meta.size() + " bytes");
        }
        String actual = HexFormat.of().formatHex(digest.digest());
        if (meta.size() >= 0 && got > meta.size()) {
            Files.deleteIfExists(part);
            throw new HubException(Reason.INTEGRITY, "size mismatch for " + repo + " " + filename + ": expected "
                    + meta.size() + " bytes, got " + got + "; the download was deleted, run again to retry");
        }
        if (meta.etag() != null && SHA256.matcher(meta.etag()).matches() && !meta.etag().equals(actual)) {
            Files.deleteIfExists(part);
            throw new HubException(Reason.INTEGRITY, "checksum mismatch for " + repo + " " + filename
                    + ": expected sha256 " + meta.etag() + ", got " + actual
                    + "; the download was deleted, run again to retry");
        }
        Path blob = part.resolveSibling(meta.etag() != null ? meta.etag() : actual);
        HubCache.moveAtomically(part, blob);
        HubCache.fsyncDirectory(blob.getParent());
        return blob;
    }

    private <T> HttpResponse<T> await(CompletableFuture<HttpResponse<T>> f, Sink sink) throws IOException {
        long limit = config.readTimeout().toNanos();
        while (true) {
            try {
                return f.get(100, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (System.nanoTime() - sink.lastActivity > limit) {
                    HttpTimeoutException stall = new HttpTimeoutException(
                            "no data received for " + config.readTimeout().toMillis() + " ms");
                    sink.abort(stall);
                    f.cancel(true);
                    throw stall;
                }
            } catch (InterruptedException e) {
                f.cancel(true);
                sink.abort(new IOException("interrupted"));
                Thread.currentThread().interrupt();
                throw new HubException(Reason.OTHER, "interrupted while downloading", e);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof IOException io) {
                    throw io;
                }
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                throw new IOException(c);
            }
        }
    }

    private enum Outcome { PENDING, REDIRECT, BODY, RESTART, ERROR }

    @FunctionalInterface
    private interface ProgressStarter {
        DownloadProgress start() throws IOException;
    }

    /**
     * Decides from the status line what to do with a response body and, for content, streams it into
     * the partial file while hashing it. Runs on the HTTP client's threads; the fields read by the
     * caller are published by the completion of the response future.
     */
    private static final class Sink implements BodySubscriber<Void> {
        private final FileChannel ch;
        private final MessageDigest digest;
        private final long offset;
        private final ProgressStarter starter;
        private volatile DownloadProgress bar = DownloadProgress.silent();
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private volatile Flow.Subscription subscription;
        volatile long lastActivity = System.nanoTime();
        volatile Outcome outcome = Outcome.PENDING;
        volatile String errorBody;

        Sink(FileChannel ch, MessageDigest digest, long offset, ProgressStarter starter) {
            this.ch = ch;
            this.digest = digest;
            this.offset = offset;
            this.starter = starter;
        }

        /** Content is coming: only now is a bar or log line worth showing (not for redirects). */
        private BodySubscriber<Void> receive() {
            try {
                bar = starter.start();
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
            outcome = Outcome.BODY;
            return this;
        }

        void closeProgress() {
            bar.close();
        }

        BodySubscriber<Void> choose(ResponseInfo info) {
            lastActivity = System.nanoTime();
            int s = info.statusCode();
            if (isRedirect(s)) {
                outcome = Outcome.REDIRECT;
                return BodySubscribers.discarding();
            }
            if (s == 416) {
                outcome = Outcome.RESTART;
                return BodySubscribers.discarding();
            }
            if (s == 206) {
                Matcher m = CONTENT_RANGE.matcher(info.headers().firstValue("Content-Range").orElse(""));
                if (!m.matches() || Long.parseLong(m.group(1)) != offset) {
                    outcome = Outcome.RESTART;
                    return BodySubscribers.discarding();
                }
                return receive();
            }
            if (s == 200) {
                if (offset > 0) {
                    // The server ignored Range and sends everything: start the file over.
                    try {
                        ch.truncate(0);
                        ch.position(0);
                    } catch (IOException e) {
                        done.completeExceptionally(e);
                    }
                    digest.reset();
                }
                return receive();
            }
            outcome = Outcome.ERROR;
            return BodySubscribers.mapping(BodySubscribers.ofString(StandardCharsets.UTF_8), body -> {
                errorBody = body;
                return null;
            });
        }

        @Override
        public CompletableFuture<Void> getBody() {
            return done;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (done.isDone()) {
                s.cancel();
            } else {
                s.request(1);
            }
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            lastActivity = System.nanoTime();
            try {
                long n = 0;
                for (ByteBuffer b : items) {
                    digest.update(b.duplicate());
                    while (b.hasRemaining()) {
                        n += ch.write(b);
                    }
                }
                bar.advance(n);
                subscription.request(1);
            } catch (IOException | RuntimeException e) {
                abort(e instanceof IOException io ? io : new IOException(e));
            }
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            done.complete(null);
        }

        void abort(IOException e) {
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
            done.completeExceptionally(e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // errors

    private HubException unreachable(RepoId repo, IOException e) {
        return new HubException(Reason.UNREACHABLE, "cannot reach " + config.endpoint() + " to download " + repo
                + " (" + describe(e, config.endpoint()) + "); pass a local model directory with --model PATH, or set HF_ENDPOINT to a reachable mirror",
                e);
    }

    private HubException statusError(RepoId repo, String filename, int status, HttpHeaders h, URI uri, String body) {
        String code = h.firstValue("X-Error-Code").orElse("");
        String hubMessage = h.firstValue("X-Error-Message").orElse(null);
        String detail = hubMessage != null ? " (" + hubMessage + ")" : "";
        if (status == 401 || status == 403) {
            String hint = config.token() == null
                    ? "set HF_TOKEN to an access token (" + config.endpoint() + "/settings/tokens)"
                    : "the HF_TOKEN given was refused; check it, and for a gated model accept its terms at "
                            + config.endpoint() + "/" + repo.repo();
            return new HubException(Reason.ACCESS_DENIED, "access to " + repo + " denied (HTTP " + status + "): "
                    + hint + detail);
        }
        if (status == 404) {
            String what;
            if (code.equals("RevisionNotFound")) {
                what = "revision '" + repo.revision() + "' not found in " + repo.repo();
            } else if (code.equals("EntryNotFound") || (filename != null && !code.equals("RepoNotFound"))) {
                what = "file " + filename + " not found in " + repo;
            } else if (code.equals("RepoNotFound")) {
                what = "repo " + repo.repo() + " not found";
            } else {
                what = "repo " + repo.repo() + " or revision '" + repo.revision() + "' not found";
            }
            return new HubException(Reason.NOT_FOUND, what + " at " + config.endpoint() + detail);
        }
        String snippet = body == null ? "" : body.strip();
        if (snippet.length() > 200) {
            snippet = snippet.substring(0, 200) + "...";
        }
        return new HubException(Reason.OTHER, "unexpected HTTP " + status + " from " + uri + " for " + repo
                + detail + (snippet.isEmpty() ? "" : ": " + snippet));
    }

    private static boolean isConnectFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof UnknownHostException
                    || t instanceof UnresolvedAddressException || t instanceof HttpConnectTimeoutException) {
                return true;
            }
        }
        return false;
    }

    static String describe(Throwable e) {
        return describe(e, null);
    }

    /**
     * A short "Type: message" for the most telling exception in the chain; target (may be null)
     * fills in for the JDK client's connect failures, which carry no message at all.
     */
    static String describe(Throwable e, URI target) {
        if (e == null) {
            return "unknown error";
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            // The JDK client reports an unknown host as a bare ConnectException caused by a bare
            // UnresolvedAddressException; name it the way users know it.
            if (t instanceof UnresolvedAddressException || t instanceof UnknownHostException) {
                String m = t.getMessage() != null ? t.getMessage() : target != null ? target.getHost() : null;
                return "UnknownHostException" + (m != null ? ": " + m : "");
            }
        }
        if (target != null && e instanceof ConnectException && (e.getMessage() == null || e.getMessage().isBlank())) {
            return "ConnectException: cannot connect to " + target.getHost() + ":" + port(target);
        }
        Throwable best = e;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                best = t;
                break;
            }
        }
        String msg = best.getMessage();
        return best.getClass().getSimpleName() + (msg == null || msg.isBlank() ? "" : ": " + msg);
    }

    // ---------------------------------------------------------------------------------------------
    // helpers

    private static AutoCloseable lock(Path lockFile) throws IOException {
        ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(lockFile.toAbsolutePath().normalize(), k -> new ReentrantLock());
        jvmLock.lock();
        try {
            FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock fl;
            try {
                fl = ch.lock();
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
            return () -> {
                try {
                    fl.release();
                    ch.close();
                } finally {
                    jvmLock.unlock();
                }
            };
        } catch (IOException | RuntimeException e) {
            jvmLock.unlock();
            throw e;
        }
    }

    static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme())
                && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI u) {
        if (u.getPort() != -1) {
            return u.getPort();
        }
        return "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    /** ETag header value to blob name: weak prefix and quotes go; names unsafe for a file system are hashed. */
    static String normalizeEtag(String raw) {
        if (raw == null) {
            return null;
        }
        String e = raw.trim();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
            e = e.substring(1, e.length() - 1);
        }
        if (e.isEmpty()) {
            return null;
        }
        String lower = e.toLowerCase(Locale.ROOT);
        if (SHA256.matcher(lower).matches()) {
            return lower;
        }
        return SAFE_NAME.matcher(e).matches() && !e.endsWith(".incomplete") && !e.startsWith(".")
                ? e
                : sha256Hex(e.getBytes(StandardCharsets.UTF_8));
    }

    private static long parseLongOrMinus1(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String encodePath(String path) {
        StringBuilder sb = new StringBuilder();
        for (String seg : path.split("/")) {
            if (sb.length() > 0) {
                sb.append('/');
            }
            sb.append(encode(seg));
        }
        return sb.toString();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    static String sha256Hex(byte[] data) {
        return HexFormat.of().formatHex(sha256().digest(data));
    }
}
