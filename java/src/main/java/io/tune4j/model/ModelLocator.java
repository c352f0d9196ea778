package io.tune4j.model;

import io.tune4j.hub.ModelResolver;
import java.nio.file.Path;

/**
 * Turns a --model argument into a local path: an existing file or directory as it is, a hub id
 * owner/name[@revision] through the Hugging Face cache (downloading on first use).
 */
public final class ModelLocator {
    private ModelLocator() {}

    public static Path resolve(String spec) {
        return ModelResolver.fromEnvironment().resolve(spec);
    }
}
