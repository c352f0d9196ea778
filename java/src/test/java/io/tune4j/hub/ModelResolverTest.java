package io.tune4j.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.hub.HubException.Reason;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class ModelResolverTest {

    private static final String SPEC = "acme/tiny-llama";

    @TempDir
    Path tmp;

    private FakeHub hub;
    private byte[] weights;
    private Path hfHome;

    @BeforeEach
    void startHub() throws IOException {
        weights = new byte[300 * 1024 + 17];
        new Random(42).nextBytes(weights);
        hub = new FakeHub("acme", "tiny-llama", false)
                .add("config.json", "{\"model_type\":\"llama\",\"hidden_size\":64}")
                .add("tokenizer.json", "{\"model\":{\"type\":\"BPE\"}}")
                .add("tokenizer_config.json", "{\"bos_token\":\"<s>\"}")
                .add("README.md", "# tiny")
                .add("model.safetensors", weights, true)
                .add("pytorch_model.bin", new byte[4096], true);
        hfHome = tmp.resolve("hf");
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    private Map<String, String> env(String... kv) {
        Map<String, String> env = new HashMap<>();
        env.put("HF_HOME", hfHome.toString());
        env.put("HF_ENDPOINT", hub.endpoint().toString());
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    private ModelResolver resolver(Map<String, String> env, int maxAttempts) {
        HubConfig cfg = HubConfig.fromEnv(env, tmp.resolve("home"))
                .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(5))
                .withMaxAttempts(maxAttempts);
        return new ModelResolver(new HubClient(cfg, DownloadProgress.log()));
    }

    private ModelResolver resolver() {
        return resolver(env(), 3);
    }

    private Path repoDir() {
        return hfHome.resolve("hub").resolve("models--acme--tiny-llama");
    }

    private Path snapshotDir() {
        return repoDir().resolve("snapshots").resolve(FakeHub.COMMIT);
    }

    private String sha(String file) {
        return hub.files.get(file).sha256();
    }

    private List<Path> incompleteFiles() throws IOException {
        Path blobs = repoDir().resolve("blobs");
        if (!Files.isDirectory(blobs)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(blobs)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".incomplete")).toList();
        }
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    @Test
    void downloadsFullSnapshotIntoHubCacheLayout() throws IOException {
        Path dir = resolver().resolve(SPEC);

        assertEquals(snapshotDir(), dir);
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals("{\"model_type\":\"llama\",\"hidden_size\":64}", Files.readString(dir.resolve("config.json")));
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")));
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer_config.json")));
        // Weights in other formats and unrelated files are neither stored nor requested.
        assertFalse(Files.exists(dir.resolve("pytorch_model.bin")));
        assertFalse(Files.exists(dir.resolve("README.md")));
        assertTrue(hub.requests().stream().noneMatch(r -> r.path().contains("pytorch_model.bin") || r.path().contains("README")));

        Path link = dir.resolve("model.safetensors");
        assertTrue(Files.isSymbolicLink(link));
        assertFalse(Files.readSymbolicLink(link).isAbsolute());
        assertEquals(repoDir().resolve("blobs").resolve(sha("model.safetensors")).toRealPath(), link.toRealPath());
        assertEquals(FakeHub.COMMIT, Files.readString(repoDir().resolve("refs").resolve("main")));
        assertTrue(incompleteFiles().isEmpty());
        // The LFS file goes through the CDN; the resolve URLs pinned the commit, not the branch.
        assertEquals(1, hub.cdnRequests().size());
        assertTrue(hub.fileRequests().stream().filter(r -> !r.cdn()).allMatch(r -> r.path().contains("/resolve/" + FakeHub.COMMIT + "/")));
    }

    @Test
    void secondResolveRequestsNoFiles() {
        Path first = resolver().resolve(SPEC);
        int before = hub.fileRequests().size();
        Path second = resolver().resolve(SPEC);
        Path byCommit = resolver().resolve(SPEC + "@" + FakeHub.COMMIT);

        assertEquals(first, second);
        assertEquals(first, byCommit);
        assertEquals(before, hub.fileRequests().size());
    }

    @Test
    void downloadsShardsListedInSafetensorsIndex() throws IOException {
        hub.close();
        byte[] a = new byte[5000];
        byte[] b = new byte[7000];
        new Random(1).nextBytes(a);
        new Random(2).nextBytes(b);
        hub = new FakeHub("acme", "tiny-llama", false)
                .add("config.json", "{}")
                .add("model.safetensors.index.json", "{\"metadata\":{},\"weight_map\":{"
                        + "\"a.weight\":\"model-00001-of-00002.safetensors\","
                        + "\"b.weight\":\"model-00002-of-00002.safetensors\","
                        + "\"c.weight\":\"model-00002-of-00002.safetensors\"}}")
                .add("model-00001-of-00002.safetensors", a, true)
                .add("model-00002-of-00002.safetensors", b, true)
                .add("model-00003-of-00003.safetensors", new byte[10], true)
                .add("pytorch_model.bin.index.json", "{}");

        Path dir = resolver().resolve(SPEC);

        assertArrayEquals(a, Files.readAllBytes(dir.resolve("model-00001-of-00002.safetensors")));
        assertArrayEquals(b, Files.readAllBytes(dir.resolve("model-00002-of-00002.safetensors")));
        assertFalse(Files.exists(dir.resolve("model-00003-of-00003.safetensors")));
        assertFalse(Files.exists(dir.resolve("pytorch_model.bin.index.json")));
    }

    @Test
    void resumesAnInterruptedDownloadOnTheNextRun() throws IOException {
        hub.cutFile = "model.safetensors";
        hub.cutsLeft = 1;

        HubException e = assertThrows(HubException.class, () -> resolver(env(), 1).resolve(SPEC));
        assertEquals(Reason.TRANSFER, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        Path part = repoDir().resolve("blobs").resolve(sha("model.safetensors") + ".incomplete");
        long kept = Files.size(part);
        assertTrue(kept > 0 && kept < weights.length, "kept " + kept);
        assertFalse(Files.exists(snapshotDir().resolve("model.safetensors")));
        assertFalse(Files.exists(repoDir().resolve("refs").resolve("main")), "refs/main must wait for a complete snapshot");

        Path dir = resolver(env(), 1).resolve(SPEC);

        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        List<FakeHub.Req> cdn = hub.cdnRequests();
        assertEquals(2, cdn.size());
        assertNull(cdn.get(0).range());
        assertEquals("bytes=" + kept + "-", cdn.get(1).range());
        assertTrue(incompleteFiles().isEmpty());
    }

    @Test
    void retriesWithinOneRunResumingWithRange() throws IOException {
        hub.cutFile = "model.safetensors";
        hub.cutsLeft = 2;

        Path dir = resolver(env(), 3).resolve(SPEC);

        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        List<FakeHub.Req> cdn = hub.cdnRequests();
        assertEquals(3, cdn.size());
        assertNull(cdn.get(0).range());
        assertNotNull(cdn.get(1).range());
        assertNotNull(cdn.get(2).range());
    }

    @Test
    void restartsWhenServerIgnoresRange() throws IOException {
        hub.cutFile = "model.safetensors";
        hub.cutsLeft = 1;
        hub.ignoreRange = true;

        Path dir = resolver(env(), 2).resolve(SPEC);

        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertNotNull(hub.cdnRequests().get(1).range());
    }

    @Test
    void abandonsAStalledTransferAndResumes() throws IOException {
        hub.stallFile = "model.safetensors";
        hub.stallsLeft = 1;
        hub.stallMillis = 4000;
        HubConfig cfg = HubConfig.fromEnv(env(), tmp.resolve("home"))
                .withTimeouts(Duration.ofSeconds(2), Duration.ofMillis(700))
                .withMaxAttempts(2);

        long t0 = System.nanoTime();
        Path dir = new ModelResolver(new HubClient(cfg, DownloadProgress.log())).resolve(SPEC);

        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertTrue(System.nanoTime() - t0 < 3_500_000_000L, "the stall should be cut short by the read timeout");
        assertNotNull(hub.cdnRequests().get(1).range());
    }

    @Test
    void checksumMismatchFailsAndLeavesNothingBehind() throws IOException {
        hub.corruptFile = "model.safetensors";

        HubException e = assertThrows(HubException.class, () -> resolver().resolve(SPEC));

        assertEquals(Reason.INTEGRITY, e.reason());
        assertTrue(e.getMessage().startsWith("checksum mismatch for " + SPEC + " model.safetensors: expected sha256 "
                + sha("model.safetensors")), e.getMessage());
        assertFalse(Files.exists(snapshotDir().resolve("model.safetensors"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(repoDir().resolve("blobs").resolve(sha("model.safetensors"))));
        assertTrue(incompleteFiles().isEmpty());
        assertFalse(Files.exists(repoDir().resolve("refs").resolve("main")));
    }

    @Test
    void tokenIsRequiredSentToHubAndKeptFromOtherHosts() throws IOException {
        hub.close();
        hub = new FakeHub("acme", "tiny-llama", true)
                .add("config.json", "{}")
                .add("model.safetensors", weights, true);
        hub.requiredToken = "hf_secret";

        HubException denied = assertThrows(HubException.class, () -> resolver().resolve(SPEC));
        assertEquals(Reason.ACCESS_DENIED, denied.reason());
        assertTrue(denied.getMessage().startsWith("access to " + SPEC + " denied"), denied.getMessage());
        assertTrue(denied.getMessage().contains("set HF_TOKEN"), denied.getMessage());

        HubException wrong = assertThrows(HubException.class, () -> resolver(env("HF_TOKEN", "hf_wrong"), 1).resolve(SPEC));
        assertEquals(Reason.ACCESS_DENIED, wrong.reason());
        assertFalse(wrong.getMessage().contains("hf_wrong"), "the token must not leak into messages");

        Path dir = resolver(env("HF_TOKEN", "hf_secret"), 1).resolve(SPEC);
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        List<FakeHub.Req> ok = hub.requests().subList(2, hub.requests().size());
        assertTrue(ok.stream().filter(r -> !r.cdn()).allMatch(r -> "Bearer hf_secret".equals(r.authorization())));
        assertFalse(hub.cdnRequests().isEmpty());
        assertTrue(hub.cdnRequests().stream().allMatch(r -> r.authorization() == null), "token sent to another host");
    }

    @Test
    void tokenFromHfHomeTokenFile() throws IOException {
        hub.requiredToken = "hf_from_file";
        Files.createDirectories(hfHome);
        Files.writeString(hfHome.resolve("token"), "hf_from_file\n");

        assertTrue(Files.isDirectory(resolver().resolve(SPEC)));
    }

    @Test
    void offlineUsesTheCacheOnly() throws IOException {
        Path online = resolver().resolve(SPEC);
        int before = hub.requests().size();
        String dead = "http://127.0.0.1:" + closedPort();

        Path offline = resolver(env("HF_HUB_OFFLINE", "1", "HF_ENDPOINT", dead), 1).resolve(SPEC);

        assertEquals(online, offline);
        assertEquals(before, hub.requests().size());
    }

    @Test
    void offlineCacheMissIsAClearError() {
        HubException e = assertThrows(HubException.class,
                () -> resolver(env("HF_HUB_OFFLINE", "true"), 1).resolve(SPEC));

        assertEquals(Reason.NOT_IN_CACHE, e.reason());
        assertTrue(e.getMessage().startsWith("HF_HUB_OFFLINE is set and " + SPEC + " is not in the cache"), e.getMessage());
        assertTrue(hub.requests().isEmpty());
    }

    @Test
    void unreachableEndpointExplainsWhatToDo() throws IOException {
        String dead = "http://127.0.0.1:" + closedPort();

        HubException e = assertThrows(HubException.class, () -> resolver(env("HF_ENDPOINT", dead), 1).resolve(SPEC));

        assertEquals(Reason.UNREACHABLE, e.reason());
        String m = e.getMessage();
        assertTrue(m.startsWith("cannot reach " + dead + " to download " + SPEC + " (ConnectException: cannot connect to 127.0.0.1:"), m);
        assertTrue(m.endsWith("); pass a local model directory with --model PATH, or set HF_ENDPOINT to a reachable mirror"), m);
    }

    @Test
    void unreachableEndpointFallsBackToCachedSnapshot() throws IOException {
        Path online = resolver().resolve(SPEC);
        String dead = "http://127.0.0.1:" + closedPort();

        assertEquals(online, resolver(env("HF_ENDPOINT", dead), 1).resolve(SPEC));
    }

    @Test
    void missingRepoOrRevisionIsNotFound() {
        HubException repo = assertThrows(HubException.class, () -> resolver().resolve("acme/nope"));
        assertEquals(Reason.NOT_FOUND, repo.reason());
        assertTrue(repo.getMessage().startsWith("repo acme/nope not found"), repo.getMessage());

        HubException rev = assertThrows(HubException.class, () -> resolver().resolve(SPEC + "@v9"));
        assertEquals(Reason.NOT_FOUND, rev.reason());
        assertTrue(rev.getMessage().startsWith("revision 'v9' not found in " + SPEC), rev.getMessage());
    }

    @Test
    void repoWithoutSafetensorsIsRefused() throws IOException {
        hub.files.remove("model.safetensors");

        HubException e = assertThrows(HubException.class, () -> resolver().resolve(SPEC));

        assertTrue(e.getMessage().contains("pytorch_model.bin"), e.getMessage());
        assertTrue(hub.fileRequests().isEmpty());
    }

    @Test
    void invalidSpecIsRejectedWithoutNetwork() {
        for (String spec : List.of("not a repo!", "a/b/c", "just-a-name", "owner/na--me", "owner/name@../../etc")) {
            HubException e = assertThrows(HubException.class, () -> resolver().resolve(spec));
            assertEquals(Reason.INVALID_SPEC, e.reason());
            assertEquals("'" + spec + "' is neither a local path nor a Hugging Face repo id owner/name[@revision]", e.getMessage());
        }
        assertTrue(hub.requests().isEmpty());
    }

    @Test
    void existingLocalPathIsReturnedAsIs() throws IOException {
        Path local = Files.createDirectories(tmp.resolve("acme").resolve("tiny-llama"));
        Files.writeString(local.resolve("config.json"), "{}", StandardCharsets.UTF_8);

        assertEquals(local, resolver().resolve(local.toString()));
        assertTrue(hub.requests().isEmpty());
    }

    @Test
    void sharedBlobIsLinkedWithoutDownloadingAgain() throws IOException {
        Path dir = resolver().resolve(SPEC);
        // A new commit of the same weights (another snapshot) reuses the blob.
        Files.walk(dir).sorted((x, y) -> y.compareTo(x)).forEach(p -> p.toFile().delete());
        int cdnBefore = hub.cdnRequests().size();

        Path again = resolver().resolve(SPEC);

        assertArrayEquals(weights, Files.readAllBytes(again.resolve("model.safetensors")));
        assertEquals(cdnBefore, hub.cdnRequests().size());
    }

    @Test
    void endpointWithTrailingSlashAndHubCacheVariable() {
        Path cache = tmp.resolve("elsewhere");
        Path dir = resolver(env("HF_ENDPOINT", hub.endpoint() + "/", "HF_HUB_CACHE", cache.toString()), 1).resolve(SPEC);

        assertEquals(cache.resolve("models--acme--tiny-llama").resolve("snapshots").resolve(FakeHub.COMMIT), dir);
    }

    @Test
    void uriHelpers() {
        assertTrue(HubClient.sameOrigin(URI.create("https://huggingface.co/a"), URI.create("https://HuggingFace.co:443")));
        assertFalse(HubClient.sameOrigin(URI.create("https://cdn-lfs.hf.co/a"), URI.create("https://huggingface.co")));
        assertFalse(HubClient.sameOrigin(URI.create("http://127.0.0.1:1/a"), URI.create("http://127.0.0.1:2")));
        assertEquals("abc", HubClient.normalizeEtag("W/\"abc\""));
        String sha = "A".repeat(64);
        assertEquals(sha.toLowerCase(), HubClient.normalizeEtag("\"" + sha + "\""));
        assertEquals(64, HubClient.normalizeEtag("\"../../x\"").length());
        java.net.ConnectException unknown = new java.net.ConnectException();
        unknown.initCause(new java.nio.channels.UnresolvedAddressException());
        assertEquals("UnknownHostException: hf.invalid", HubClient.describe(unknown, URI.create("https://hf.invalid")));
    }

    @Test
    void terminalProgressBarRuns() {
        try (DownloadProgress p = DownloadProgress.terminal().start("acme/x model.safetensors", 4 << 20, 1 << 20)) {
            p.advance(3 << 20);
        }
        try (DownloadProgress p = DownloadProgress.terminal().start("acme/x config.json", -1, 0)) {
            p.advance(100);
        }
    }
}
