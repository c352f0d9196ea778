package io.tune4j.bench.load;

import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.DoubleSupplier;
import java.util.function.IntFunction;

/**
 * Closed-loop load: N clients start together and each sends its requests one after the other, a
 * new one as soon as the last has finished, so N streams are in flight all the time.
 */
final class LoadScenario {
    private final StreamingClient client;
    private final List<String> prompts;
    private final DoubleSupplier serverCpuSeconds;

    LoadScenario(StreamingClient client, List<String> prompts, DoubleSupplier serverCpuSeconds) {
        this.client = client;
        this.prompts = prompts;
        this.serverCpuSeconds = serverCpuSeconds;
    }

    /** Client i asks for model modelOf(i) with prompt i (mod the prompts), requestsEach times. */
    ScenarioResult run(int clients, int requestsEach, IntFunction<String> modelOf) throws Exception {
        List<RequestSample> samples = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        double cpu0 = serverCpuSeconds.getAsDouble();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int c = i;
                done.add(pool.submit(() -> {
                    go.await();
                    for (int r = 0; r < requestsEach; r++) {
                        samples.add(client.complete(modelOf.apply(c), prompts.get(c % prompts.size()), null));
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) f.get();
        } finally {
            pool.shutdownNow();
        }
        return ScenarioResult.of(clients, samples, serverCpuSeconds.getAsDouble() - cpu0);
    }

    static HttpClient httpClient() {
        // HTTP/1.1: one connection per concurrent stream, as most OpenAI clients use it
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }
}
