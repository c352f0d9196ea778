package io.tune4j.hub;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * Where the hub is, where the cache lives and how to talk to the hub. Built from environment
 * variables with the same names and defaults as huggingface_hub, so a cache filled by Python tools
 * is shared with tune4j and the other way round.
 *
 * @param endpoint       HF_ENDPOINT, default https://huggingface.co
 * @param cacheDir       HF_HUB_CACHE, else $HF_HOME/hub, HF_HOME defaulting to $XDG_CACHE_HOME/huggingface
 *                       or ~/.cache/huggingface
 * @param token          HF_TOKEN, else the token file written by `huggingface-cli login`; null for none
 * @param offline        HF_HUB_OFFLINE: use the cache only
 * @param connectTimeout how long to wait for a connection and for response headers
 * @param readTimeout    how long a download may go without receiving a byte before it is abandoned
 * @param maxAttempts    attempts per file; later attempts resume what earlier ones left behind
 */
public record HubConfig(
        URI endpoint,
        Path cacheDir,
        String token,
        boolean offline,
        Duration connectTimeout,
        Duration readTimeout,
        int maxAttempts) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    public HubConfig {
        if (endpoint == null || endpoint.getScheme() == null || endpoint.getHost() == null) {
            throw new IllegalArgumentException("hub endpoint must be an absolute http(s) URL, got " + endpoint);
        }
        if (cacheDir == null) {
            throw new IllegalArgumentException("cacheDir is required");
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be >= 1, got " + maxAttempts);
        }
        if (token != null && token.isBlank()) {
            token = null;
        }
        // A trailing slash would double up when paths are appended.
        String e = endpoint.toString();
        while (e.endsWith("/")) {
            e = e.substring(0, e.length() - 1);
        }
        endpoint = URI.create(e);
    }

    /** Reads the process environment. */
    public static HubConfig fromEnvironment() {
        return fromEnv(System.getenv());
    }

    /** Reads the given variables instead of the process environment (for tests and embedding). */
    public static HubConfig fromEnv(Map<String, String> env) {
        return fromEnv(env, Path.of(System.getProperty("user.home")));
    }

    public static HubConfig fromEnv(Map<String, String> env, Path userHome) {
        String endpoint = nonBlank(env.get("HF_ENDPOINT"));
        Path hfHome;
        if (nonBlank(env.get("HF_HOME")) != null) {
            hfHome = Path.of(env.get("HF_HOME"));
        } else if (nonBlank(env.get("XDG_CACHE_HOME")) != null) {
            hfHome = Path.of(env.get("XDG_CACHE_HOME"), "huggingface");
        } else {
            hfHome = userHome.resolve(".cache").resolve("huggingface");
        }
        Path cache = nonBlank(env.get("HF_HUB_CACHE")) != null ? Path.of(env.get("HF_HUB_CACHE")) : hfHome.resolve("hub");
        String token = nonBlank(env.get("HF_TOKEN"));
        if (token == null) {
            Path tokenFile = nonBlank(env.get("HF_TOKEN_PATH")) != null ? Path.of(env.get("HF_TOKEN_PATH")) : hfHome.resolve("token");
            token = readTokenFile(tokenFile);
        }
        return new HubConfig(
                URI.create(endpoint == null ? DEFAULT_ENDPOINT : endpoint),
                cache,
                token,
                isTrue(env.get("HF_HUB_OFFLINE")),
                Duration.ofSeconds(10),
                Duration.ofSeconds(60),
                3);
    }

    public HubConfig withEndpoint(URI e) {
        return new HubConfig(e, cacheDir, token, offline, connectTimeout, readTimeout, maxAttempts);
    }

    public HubConfig withCacheDir(Path c) {
        return new HubConfig(endpoint, c, token, offline, connectTimeout, readTimeout, maxAttempts);
    }

    public HubConfig withToken(String t) {
        return new HubConfig(endpoint, cacheDir, t, offline, connectTimeout, readTimeout, maxAttempts);
    }

    public HubConfig withOffline(boolean o) {
        return new HubConfig(endpoint, cacheDir, token, o, connectTimeout, readTimeout, maxAttempts);
    }

    public HubConfig withTimeouts(Duration connect, Duration read) {
        return new HubConfig(endpoint, cacheDir, token, offline, connect, read, maxAttempts);
    }

    public HubConfig withMaxAttempts(int n) {
        return new HubConfig(endpoint, cacheDir, token, offline, connectTimeout, readTimeout, n);
    }

    // The token must not end up in logs or exception messages through the generated toString.
    @Override
    public String toString() {
        return "HubConfig[endpoint=" + endpoint + ", cacheDir=" + cacheDir + ", token=" + (token == null ? "none" : "***")
                + ", offline=" + offline + ", connectTimeout=" + connectTimeout + ", readTimeout=" + readTimeout
                + ", maxAttempts=" + maxAttempts + "]";
    }

    /** huggingface_hub's notion of a true environment flag. */
    static boolean isTrue(String v) {
        if (v == null) {
            return false;
        }
        String s = v.trim().toLowerCase(Locale.ROOT);
        return s.equals("1") || s.equals("true") || s.equals("yes") || s.equals("on");
    }

    private static String nonBlank(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static String readTokenFile(Path p) {
        try {
            return Files.isRegularFile(p) ? nonBlank(Files.readString(p, StandardCharsets.UTF_8)) : null;
        } catch (IOException e) {
            return null;
        }
    }
}
