package io.tune4j.model;

import java.nio.file.Files;
import java.nio.file.Path;

/** Turns a --model argument into a local path (hub ids are resolved by the hub client). */
public final class ModelLocator {
    private ModelLocator() {}

    public static Path resolve(String spec) {
        Path p = Path.of(spec);
        if (Files.exists(p)) return p;
        throw new IllegalArgumentException(spec + ": no such file or directory");
    }
}
