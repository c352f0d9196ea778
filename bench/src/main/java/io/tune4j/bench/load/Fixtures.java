package io.tune4j.bench.load;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared fixtures, found as the tests find them: TUNE4J_FIXTURES, else a ../shared/fixtures above the working directory. */
final class Fixtures {
    private Fixtures() {}

    static Path find(String relative) {
        String env = System.getenv("TUNE4J_FIXTURES");
        Path root = env != null && !env.isBlank() ? Path.of(env) : null;
        for (Path p = Path.of("").toAbsolutePath(); root == null && p != null; p = p.getParent()) {
            Path c = p.resolveSibling("shared").resolve("fixtures");
            if (Files.isDirectory(c)) root = c;
        }
        Path f = root == null ? Path.of(relative) : root.resolve(relative);
        if (!Files.isRegularFile(f)) {
            throw new IllegalArgumentException("fixture " + f + " is missing: set TUNE4J_FIXTURES or pass --tokenizer");
        }
        return f;
    }
}
