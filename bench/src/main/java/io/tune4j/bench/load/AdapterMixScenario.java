package io.tune4j.bench.load;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * The server's own decode-step time while a fixed batch streams: N clients start together and the
 * step-time histogram is read once every client has its first token (all prompts are prefilled,
 * every step from then on decodes N rows) and again when the first stream ends. The mean step in
 * between compares batches that differ only in which adapters their rows use.
 */
final class AdapterMixScenario {
    private final StreamingClient client;
    private final StepTimeProbe probe;
    private final List<String> prompts;

    AdapterMixScenario(StreamingClient client, StepTimeProbe probe, List<String> prompts) {
        this.client = client;
        this.probe = probe;
        this.prompts = prompts;
    }

    /** Mean server step in milliseconds, and the steps it averages, with client i on model modelOf(i). */
    record StepTime(double meanMillis, long steps) {}

    StepTime run(int clients, IntFunction<String> modelOf) throws Exception {
        CountDownLatch allStarted = new CountDownLatch(clients);
        CountDownLatch firstEnded = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int c = i;
                done.add(pool.submit(() -> {
                    try {
                        client.complete(modelOf.apply(c), prompts.get(c % prompts.size()), allStarted::countDown);
                    } catch (Exception e) {
                        while (allStarted.getCount() > 0) allStarted.countDown(); // let the reader see the failure
                        throw e;
                    } finally {
                        firstEnded.countDown();
                    }
                    return null;
                }));
            }
            allStarted.await();
            StepTimeProbe.Reading from = probe.read();
            firstEnded.await();
            StepTimeProbe.Reading to = probe.read();
            for (Future<?> f : done) f.get();
            return new StepTime(to.meanMillisSince(from), to.stepsSince(from));
        } finally {
            pool.shutdownNow();
        }
    }
}
