package io.tune4j.bench.load;

/**
 * What one streamed completion looked like from the client: when it was sent, when each event
 * carrying text arrived (nanoTime), and how many tokens the server says it generated.
 */
record RequestSample(long sentNanos, long endNanos, long[] textEventNanos, int completionTokens) {
    long timeToFirstTokenNanos() {
        return textEventNanos[0] - sentNanos;
    }

    /** Gaps between consecutive text events: the per-token latency a reader of the stream sees. */
    long[] interTokenNanos() {
        long[] gaps = new long[Math.max(0, textEventNanos.length - 1)];
        for (int i = 0; i < gaps.length; i++) gaps[i] = textEventNanos[i + 1] - textEventNanos[i];
        return gaps;
    }
}
