package io.tune4j.hub;

import io.tune4j.hub.HubException.Reason;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Turns the value of {@code --model} into a directory: a local path is used as is, a Hugging Face
 * repo id {@code owner/name[@revision]} is fetched into the cache (or found there) first.
 */
public final class ModelResolver {

    private final HubClient client;

    public ModelResolver(HubClient client) {
        this.client = client;
    }

    /** Configured from the process environment (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE). */
    public static ModelResolver fromEnvironment() {
        return new ModelResolver(new HubClient(HubConfig.fromEnvironment()));
    }

    /** Configured from the given variables instead of the process environment. */
    public static ModelResolver fromEnv(Map<String, String> env) {
        return new ModelResolver(new HubClient(HubConfig.fromEnv(env)));
    }

    public HubClient client() {
        return client;
    }

    /**
     * The model directory for spec.
     *
     * @throws HubException with a message for the user when spec is neither an existing path nor a
     *                      repo id, or the repo cannot be fetched
     */
    public Path resolve(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new HubException(Reason.INVALID_SPEC, "no model given: pass a local model directory or a Hugging Face repo id owner/name[@revision]");
        }
        // Existing paths win, so a local directory that happens to be called owner/name is never
        // mistaken for a repo id.
        Optional<Path> local = localPath(spec);
        if (local.isPresent()) {
            return local.get();
        }
        RepoId repo = RepoId.parse(spec).orElseThrow(() -> new HubException(Reason.INVALID_SPEC,
                "'" + spec + "' is neither a local path nor a Hugging Face repo id owner/name[@revision]"));
        return client.snapshot(repo);
    }

    private static Optional<Path> localPath(String spec) {
        try {
            String s = spec;
            // Quoted arguments and config files do not get the shell's tilde expansion.
            if (s.equals("~") || s.startsWith("~/")) {
                s = System.getProperty("user.home") + s.substring(1);
            }
            Path p = Path.of(s);
            return Files.exists(p) ? Optional.of(p) : Optional.empty();
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
    }
}
