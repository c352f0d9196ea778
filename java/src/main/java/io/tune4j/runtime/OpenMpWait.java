package io.tune4j.runtime;

import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warns once when a JVM that embeds tune4j leaves libgomp's wait between kernels at its default.
 *
 * <p>libgomp reads its settings when it is loaded, before any Java code could change them, so the
 * environment of the process is the only place to set them. Its default spin holds the cores for
 * milliseconds after each kernel, and sleeping at once ({@code OMP_WAIT_POLICY=PASSIVE})
 * makes every one of a decode step's ~40 kernels wake its workers. The launcher sets
 * {@code GOMP_SPINCOUNT=10000}; see the README's Threads section.
 */
public final class OpenMpWait {
    private static final Logger LOG = LoggerFactory.getLogger(OpenMpWait.class);

    private OpenMpWait() {}

    public static void checkEnvironment() {
        hint(System.getenv()).ifPresent(LOG::warn);
    }

    /** The warning for this environment, or empty when the caller chose a wait. */
    static Optional<String> hint(Map<String, String> env) {
        if (isSet(env, "OMP_WAIT_POLICY") || isSet(env, "GOMP_SPINCOUNT")) return Optional.empty();
        return Optional.of("neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set: OpenMP's default spin holds every core"
                + " for milliseconds after each native kernel. Start this JVM with GOMP_SPINCOUNT=10000 in its"
                + " environment (README, Threads), as ./tune4j does.");
    }

    private static boolean isSet(Map<String, String> env, String name) {
        String v = env.get(name);
        return v != null && !v.isBlank();
    }
}
