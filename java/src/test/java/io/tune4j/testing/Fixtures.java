package io.tune4j.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates ../shared/fixtures (or TUNE4J_FIXTURES). Under CI=true a missing fixture fails the
 * test; elsewhere it is skipped with a message naming what is missing.
 */
public final class Fixtures {
    private Fixtures() {}

    public static Path root() {
        String env = System.getenv("TUNE4J_FIXTURES");
        if (env != null && !env.isBlank()) return Path.of(env);
        // tests run with the module directory (java/) as working directory
        Path cwd = Path.of("").toAbsolutePath();
        for (Path p = cwd; p != null; p = p.getParent()) {
            Path candidate = p.resolveSibling("shared").resolve("fixtures");
            if (Files.isDirectory(candidate)) return candidate;
        }
        return cwd.getParent().resolveSibling("shared").resolve("fixtures");
    }

    public static Path require(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            String msg = "fixture " + p + " is missing (set TUNE4J_FIXTURES to the fixtures directory)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) throw new AssertionError(msg);
            assumeTrue(false, msg);
        }
        return p;
    }
}
