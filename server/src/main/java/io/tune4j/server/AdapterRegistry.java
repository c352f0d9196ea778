package io.tune4j.server;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/** Names of loaded adapters and the directories they come from; read from any thread. */
final class AdapterRegistry {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");

    private final Map<String, Path> byName = new ConcurrentHashMap<>();
    private final Path dataDir;          // real path, or null
    private final Set<Path> startupDirs; // real paths

    AdapterRegistry(Path dataDir, Set<Path> startupDirs) {
        this.dataDir = dataDir;
        this.startupDirs = startupDirs;
    }

    Path get(String name) {
        return byName.get(name);
    }

    Map<String, Path> all() {
        return new TreeMap<>(byName);
    }

    void put(String name, Path dir) {
        byName.put(name, dir);
    }

    boolean remove(String name) {
        return byName.remove(name) != null;
    }

    static void checkName(String name, String baseId) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw ApiException.badRequest("name", "adapter name must be 1-64 characters of letters, digits, '.', '_', ':' "
                    + "or '-', starting with a letter or digit");
        }
        if (name.equals(baseId)) throw ApiException.badRequest("name", "'" + name + "' is the base model's id");
    }

    /**
     * The real directory for a requested path: relative paths are taken under the data dir; the
     * result must lie under the data dir (after resolving links and '..') or be a startup adapter.
     */
    Path resolveAllowed(String requested) {
        if (requested == null || requested.isBlank()) throw ApiException.badRequest("path", "'path' is required");
        Path p = Path.of(requested);
        if (!p.isAbsolute()) {
            if (dataDir == null) throw forbidden();
            p = dataDir.resolve(p);
        }
        Path real;
        try {
            real = p.toRealPath();
        } catch (IOException e) {
            // say nothing about what exists outside the allowed roots
            if (dataDir != null && p.normalize().startsWith(dataDir)) {
                throw ApiException.badRequest("path", "adapter directory " + requested + " does not exist");
            }
            throw forbidden();
        }
        if (!(dataDir != null && real.startsWith(dataDir)) && !startupDirs.contains(real)) throw forbidden();
        if (!Files.isDirectory(real)) throw ApiException.badRequest("path", requested + " is not a directory");
        return real;
    }

    private static ApiException forbidden() {
        return new ApiException(HttpResponseStatus.FORBIDDEN, "permission_error", "path", "path_not_allowed",
                "adapter paths must lie under the server's data directory (--data-dir)");
    }
}
