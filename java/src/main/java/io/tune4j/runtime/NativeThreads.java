package io.tune4j.runtime;

/**
 * The thread count the native kernels use, set once for the process ({@code --threads}).
 *
 * <p>OpenMP keeps that count per calling thread: a count set on the CLI's main thread does not reach
 * a thread started later, such as the server's scheduler or its training-job worker, which would
 * otherwise use every core whatever {@code --threads} said. Such threads call {@link #adopt()}
 * before their first native op.
 */
public final class NativeThreads {
    private static volatile int configured; // 0: never set, the OpenMP default (all cores)

    private NativeThreads() {}

    /** Sets the count for this thread and for every thread that calls {@link #adopt()} later. */
    public static void configure(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        configured = threads;
        NativeLib.t4j_set_num_threads(threads);
    }

    /** Applies the configured count to the calling thread; without one, leaves the default. */
    public static void adopt() {
        int n = configured;
        if (n > 0) NativeLib.t4j_set_num_threads(n);
    }

    /** The configured count, or 0 when none was set. */
    public static int configured() {
        return configured;
    }
}
