package io.tune4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A count configured on one thread reaches threads started later once they adopt it. */
class NativeThreadsTest {
    static int onNewThread(boolean adopt) throws InterruptedException {
        AtomicInteger seen = new AtomicInteger();
        Thread t = new Thread(() -> {
            if (adopt) NativeThreads.adopt();
            seen.set(NativeLib.t4j_get_num_threads());
        });
        t.start();
        t.join();
        return seen.get();
    }

    @Test
    void laterThreadsAdoptTheConfiguredCount() throws InterruptedException {
        int defaultCount = onNewThread(false);
        int previous = NativeThreads.configured();
        int wanted = defaultCount > 1 ? defaultCount - 1 : 2;
        try {
            NativeThreads.configure(wanted);
            assertEquals(wanted, NativeLib.t4j_get_num_threads(), "the configuring thread");
            // OpenMP's count is per thread: without adopt() a new thread still sees the default
            assertEquals(defaultCount, onNewThread(false));
            assertEquals(wanted, onNewThread(true));
        } finally {
            NativeThreads.configure(previous > 0 ? previous : defaultCount);
        }
    }
}
