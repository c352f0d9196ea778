package io.tune4j.server;

import io.tune4j.runtime.NativeThreads;
import io.tune4j.generate.BatchDecoder;
import io.tune4j.generate.GenerationConfig;
import io.tune4j.generate.GenerationResult;
import io.tune4j.generate.Sequence;
import io.tune4j.model.LlamaModel;
import io.tune4j.peft.Adapters;
import io.tune4j.peft.LoraBank;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Continuous batching on one dedicated thread, which alone touches the model, its KV cache and the
 * tokenizer. Requests wait in a FIFO; at every token boundary waiting requests take free slots and
 * their prompts are prefilled inside the same batched step that advances the running sequences.
 *
 * <p>LoRA adapters live side by side in a {@link io.tune4j.peft.LoraBank} over the base model, so
 * requests for any LoRA adapter and for the base model share one batch: each row of a step gets its
 * own adapter (see {@link LoraAdapters}). Other kinds of adapter (prefix tuning, bottleneck
 * adapters) change the model for every row, so they still run alone: a request for one waits until
 * the running batch has drained, then the adapter is attached; requests behind it wait too (FIFO),
 * so neither side starves. Unloading a LoRA adapter lets the requests already using it finish.
 */
public final class Scheduler implements AutoCloseable {
    /** What a request hears, called on the scheduler thread; implementations must not block. */
    public interface Sink {
        /** The prompt was encoded and queued for a slot. */
        default void onQueued(int promptTokens) {}

        /** Text that became final (never empty). */
        void onDelta(String text);

        /** The sequence ended, including by cancellation (finish reason CANCELLED). */
        void onDone(GenerationResult result);

        /** The request failed before or while running. */
        void onError(RuntimeException e);
    }

    /** The request ran past its deadline. */
    public static final class TimeoutException extends RuntimeException {
        TimeoutException(String m) {
            super(m);
        }
    }

    /** The server is shutting down. */
    public static final class ShutdownException extends RuntimeException {
        ShutdownException(String m) {
            super(m);
        }
    }

    /** One generation request; {@link #cancel()} may be called from any thread. */
    public static final class Job {
        final String model;
        final Path adapterDir;
        final Function<Tokenizer, int[]> encoder;
        final GenerationConfig config;
        final Sink sink;
        final long deadlineNanos;
        final long submittedNanos = System.nanoTime();
        volatile boolean cancelRequested;
        int[] prompt;
        Sequence sequence;
        boolean lora;              // adapterDir holds a LoRA adapter (decoded through the bank)
        LoraAdapters.Entry entry;  // the bank slot it holds while running
        boolean firstToken;
        boolean ended;

        /**
         * @param adapterDir null for the base model
         * @param encoder runs on the scheduler thread (the tokenizer is not shared across threads)
         */
        public Job(String model, Path adapterDir, Function<Tokenizer, int[]> encoder, GenerationConfig config,
                   Sink sink, long timeoutNanos) {
            this.model = model;
            this.adapterDir = adapterDir;
            this.encoder = encoder;
            this.config = config;
            this.sink = sink;
            this.deadlineNanos = submittedNanos + timeoutNanos;
        }

        public void cancel() {
            cancelRequested = true;
        }
    }

    private record Task<T>(Supplier<T> body, CompletableFuture<T> result) {}

    /** An adapter to make available as name: LoRA adapters load at once, others when the batch drains. */
    private record Load(String name, Path dir, CompletableFuture<Void> result) {}

    private record Unload(String name) {}

    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final BatchDecoder decoder;
    private final LoraAdapters loras;
    private final Metrics metrics;
    private final int maxInFlight;
    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final ArrayDeque<Object> pending = new ArrayDeque<>(); // Jobs and Tasks, FIFO
    private final List<Job> running = new ArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Thread thread;
    private volatile boolean accepting = true;
    /** Sleep after each step: lets tests hold a stream open on a model that would otherwise finish in milliseconds. */
    volatile long stepPauseMillis;
    private volatile boolean stopping;
    private volatile long drainDeadline;
    private volatile int loraCount; // adapters in the bank, for the metrics thread
    // the adapter on the model now: null = base model
    private String currentName;
    private Path currentDir;
    private FineTuneMethod currentMethod;

    public Scheduler(LlamaModel model, Tokenizer tokenizer, int slots, int maxSeq, int maxInFlight, Metrics metrics) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.metrics = metrics;
        this.maxInFlight = maxInFlight;
        this.decoder = new BatchDecoder(model, tokenizer, slots, maxSeq);
        // room for every running sequence to use its own adapter, and as many again kept warm
        this.loras = new LoraAdapters(model, Math.min(LoraBank.MAX_SLOTS, Math.max(4, 2 * slots)));
        metrics.freeSlots.set(decoder.freeSlots());
        metrics.gauge("tune4j_lora_adapters_loaded", "LoRA adapters loaded for shared batches.", () -> loraCount);
        this.thread = new Thread(this::loop, "tune4j-scheduler");
        thread.setDaemon(true);
        thread.start();
    }

    public int contextLength() {
        return decoder.contextLength();
    }

    public int slots() {
        return decoder.slots();
    }

    /** Queues the job, or returns false when the server holds as many requests as it allows (or is stopping). */
    public boolean trySubmit(Job job) {
        if (!accepting) return false;
        while (true) {
            int n = inFlight.get();
            if (n >= maxInFlight) return false;
            if (inFlight.compareAndSet(n, n + 1)) break;
        }
        metrics.inFlight.set(inFlight.get());
        inbox.add(job);
        return true;
    }

    public boolean accepting() {
        return accepting;
    }

    /**
     * Runs body on the scheduler thread once every request queued before it has left the batch and
     * no sequence is active (so it may change the model), e.g. attaching an adapter.
     */
    public <T> CompletableFuture<T> whenIdle(Supplier<T> body) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (stopping) {
            f.completeExceptionally(new ShutdownException("the server is shutting down"));
            return f;
        }
        inbox.add(new Task<>(body, f));
        return f;
    }

    /**
     * Makes the adapter in dir available as name: a LoRA adapter is read into the bank between two
     * steps, without waiting for the batch; any other kind is attached once the running batch has
     * drained. The future fails when the adapter cannot be loaded.
     */
    public CompletableFuture<Void> load(String name, Path dir) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (stopping) {
            f.completeExceptionally(new ShutdownException("the server is shutting down"));
            return f;
        }
        inbox.add(new Load(name, dir, f));
        return f;
    }

    /**
     * Forgets the adapter called name. A LoRA adapter's slot is freed once the requests using it now
     * have finished (they are not cut short); another kind is detached at the next idle point.
     */
    public void unload(String name) {
        inbox.add(new Unload(name));
    }

    /** Attaches the (non-LoRA) adapter in dir as name (scheduler thread, idle); throws when it cannot be loaded. */
    void attach(String name, Path dir) {
        detach();
        // a method that wraps the projections itself (LoRA with modules_to_save, DoRA) runs alone: the
        // bank's wrappers leave the model until it is detached
        if (Adapters.inspect(dir).wrapsProjections()) loras.suspend();
        try {
            currentMethod = Adapters.load(dir, model);
        } catch (RuntimeException e) {
            loras.resume();
            throw e;
        }
        currentMethod.setTraining(false);
        currentName = name;
        currentDir = dir;
        decoder.refreshForModelChange();
    }

    /** Puts the base model back if the named adapter is attached (scheduler thread, idle). */
    void detachIf(String name) {
        if (Objects.equals(currentName, name)) {
            detach();
            decoder.refreshForModelChange();
        }
    }

    private void detach() {
        if (currentMethod != null) currentMethod.close();
        currentMethod = null;
        currentName = null;
        currentDir = null;
        loras.resume();
    }

    /**
     * Stops taking requests and lets queued and running ones finish until the grace period ends;
     * then cancels what is left, and returns when the thread has released the model.
     */
    public void shutdown(long graceMillis) {
        accepting = false;
        drainDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMillis);
        stopping = true;
        inbox.add(Boolean.TRUE); // wakes the loop
        try {
            thread.join(graceMillis + 10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        shutdown(0);
    }

    // ------------------------------------------------------------------ scheduler thread

    private void loop() {
        NativeThreads.adopt(); // --threads was set on the main thread
        try {
            while (true) {
                boolean idle = decoder.activeCount() == 0;
                Object first = idle ? inbox.poll(50, TimeUnit.MILLISECONDS) : inbox.poll();
                if (first != null) intake(first);
                for (Object o; (o = inbox.poll()) != null; ) intake(o);
                if (stopping && (System.nanoTime() - drainDeadline >= 0 || (pending.isEmpty() && running.isEmpty()))) {
                    abortAll(new ShutdownException("the server is shutting down"));
                    break;
                }
                expire();
                admit();
                metrics.queueDepth.set(pendingJobs());
                if (decoder.activeCount() > 0) {
                    long t0 = System.nanoTime();
                    int decoding = 0;
                    for (Job j : running) if (j.sequence.prefillDone()) decoding++;
                    recordModels();
                    try {
                        decoder.step();
                    } catch (RuntimeException e) {
                        // a failed native step leaves the KV contents of this batch undefined: fail the batch, keep serving
                        for (Job j : List.copyOf(running)) {
                            decoder.cancel(j.sequence);
                            end(j, null, e);
                        }
                        continue;
                    }
                    double s = (System.nanoTime() - t0) / 1e9;
                    metrics.steps.increment();
                    metrics.stepSeconds.observe(s);
                    if (decoding > 0) metrics.tokensPerSecond = decoding / Math.max(s, 1e-9);
                    collectFinished();
                    if (stepPauseMillis > 0) Thread.sleep(stepPauseMillis);
                }
                metrics.batchSize.set(decoder.activeCount());
                metrics.freeSlots.set(decoder.freeSlots());
            }
        } catch (InterruptedException e) {
            abortAll(new ShutdownException("the server is shutting down"));
        } catch (Throwable t) {
            System.err.println("tune4j-server: scheduler failed: " + t);
            abortAll(new IllegalStateException("the scheduler failed: " + t.getMessage()));
        } finally {
            accepting = false;
            detach();
            loras.close();
            decoder.close();
        }
    }

    private void intake(Object o) {
        if (o instanceof Job j) {
            try {
                j.prompt = j.encoder.apply(tokenizer);
                decoder.validate(j.prompt);
                j.lora = j.adapterDir != null && (loras.holds(j.model, j.adapterDir) || isLora(j.adapterDir));
            } catch (RuntimeException e) {
                end(j, null, e);
                return;
            }
            j.sink.onQueued(j.prompt.length);
            pending.add(j);
        } else if (o instanceof Task<?> t) {
            pending.add(t);
        } else if (o instanceof Load l) {
            intakeLoad(l);
        } else if (o instanceof Unload u) {
            loras.retire(u.name());
            loraCount = loras.loaded();
            if (Objects.equals(currentName, u.name())) {
                pending.add(new Task<Void>(() -> {
                    detachIf(u.name());
                    return null;
                }, new CompletableFuture<>()));
            }
        }
    }

    private void intakeLoad(Load l) {
        boolean lora;
        try {
            lora = isLora(l.dir());
        } catch (RuntimeException e) {
            l.result().completeExceptionally(e);
            return;
        }
        if (!lora) {
            pending.add(new Task<Void>(() -> {
                attach(l.name(), l.dir());
                return null;
            }, l.result()));
            return;
        }
        try {
            if (loras.acquire(l.name(), l.dir()) != null) {
                loraCount = loras.loaded();
                l.result().complete(null);
                return;
            }
        } catch (RuntimeException e) {
            l.result().completeExceptionally(e);
            return;
        }
        // every bank slot serves a running request: load once they have drained
        pending.add(new Task<Void>(() -> {
            if (loras.acquire(l.name(), l.dir()) == null) throw new IllegalStateException("no free LoRA adapter slot");
            loraCount = loras.loaded();
            return null;
        }, l.result()));
    }

    /**
     * Whether dir holds an adapter its method lets share the multi-LoRA batch (plain LoRA); every
     * other kind, LoRA with modules_to_save and DoRA included, runs alone. Throws when its config
     * cannot be read.
     */
    private static boolean isLora(Path dir) {
        return Adapters.inspect(dir).sharesBatch();
    }

    private int pendingJobs() {
        int n = 0;
        for (Object o : pending) if (o instanceof Job) n++;
        return n;
    }

    /** Cancellations and deadlines, for running and waiting requests. */
    private void expire() {
        long now = System.nanoTime();
        for (Job j : List.copyOf(running)) {
            if (j.cancelRequested) {
                decoder.cancel(j.sequence);
                metrics.cancelled.increment();
                end(j, j.sequence.result(), null);
            } else if (now - j.deadlineNanos >= 0) {
                decoder.cancel(j.sequence);
                metrics.cancelled.increment();
                end(j, null, new TimeoutException("the request did not finish within its time limit"));
            }
        }
        for (Iterator<Object> it = pending.iterator(); it.hasNext(); ) {
            if (!(it.next() instanceof Job j)) continue;
            if (j.cancelRequested) {
                it.remove();
                end(j, null, new java.util.concurrent.CancellationException("cancelled before it started"));
            } else if (now - j.deadlineNanos >= 0) {
                it.remove();
                end(j, null, new TimeoutException("the request waited for a slot past its time limit"));
            }
        }
    }

    private void admit() {
        while (!pending.isEmpty()) {
            Object head = pending.peek();
            if (head instanceof Task<?> t) {
                if (decoder.activeCount() > 0) return;
                pending.poll();
                runTask(t);
                continue;
            }
            Job j = (Job) head;
            boolean whole = j.adapterDir != null && !j.lora; // an adapter that changes every row
            boolean swap = whole ? !Objects.equals(currentName, j.model) || !Objects.equals(currentDir, j.adapterDir)
                    : currentMethod != null;
            if (swap) {
                if (decoder.activeCount() > 0) return;
                try {
                    if (whole) {
                        attach(j.model, j.adapterDir);
                    } else {
                        detach();
                        decoder.refreshForModelChange();
                    }
                } catch (RuntimeException e) {
                    pending.poll();
                    end(j, null, e);
                    continue;
                }
            }
            if (decoder.freeSlots() == 0) return;
            LoraAdapters.Entry entry = null;
            if (j.lora) {
                try {
                    entry = loras.acquire(j.model, j.adapterDir);
                } catch (RuntimeException e) {
                    pending.poll();
                    end(j, null, e);
                    continue;
                }
                loraCount = loras.loaded();
                if (entry == null) return; // every bank slot is in use: wait for a sequence to end
            }
            pending.poll();
            Job job = j;
            if (entry != null) {
                loras.use(entry);
                j.entry = entry;
            }
            j.sequence = decoder.admit(j.prompt, j.config, (id, delta) -> onToken(job, delta),
                    entry == null ? -1 : entry.slot);
            metrics.promptTokens.add(j.prompt.length);
            if (j.sequence.finished()) {
                end(j, j.sequence.result(), null);
            } else {
                running.add(j);
            }
        }
    }

    /** How many models (the base, each adapter) share this step's batch. */
    private void recordModels() {
        java.util.Set<Object> models = new java.util.HashSet<>();
        for (Job j : running) models.add(j.entry != null ? (Object) j.entry.slot : j.adapterDir == null ? "" : j.adapterDir);
        metrics.batchModels.set(models.size());
        metrics.batchModelsPeak.accumulateAndGet(models.size(), Math::max);
        if (models.size() > 1) metrics.mixedSteps.increment();
    }

    private static <T> void runTask(Task<T> t) {
        try {
            t.result().complete(t.body().get());
        } catch (RuntimeException e) {
            t.result().completeExceptionally(e);
        }
    }

    private void onToken(Job j, String delta) {
        if (!j.firstToken) {
            j.firstToken = true;
            metrics.timeToFirstToken.observe((System.nanoTime() - j.submittedNanos) / 1e9);
        }
        metrics.completionTokens.increment();
        if (!delta.isEmpty()) {
            try {
                j.sink.onDelta(delta);
            } catch (RuntimeException e) {
                j.cancel(); // a sink that cannot take more text has lost its client
            }
        }
    }

    private void collectFinished() {
        for (Iterator<Job> it = running.iterator(); it.hasNext(); ) {
            Job j = it.next();
            if (j.sequence.finished()) {
                it.remove();
                end(j, j.sequence.result(), null);
            }
        }
    }

    private void end(Job j, GenerationResult result, RuntimeException error) {
        if (j.ended) return;
        j.ended = true;
        running.remove(j);
        if (j.entry != null) {
            loras.release(j.entry);
            j.entry = null;
            loraCount = loras.loaded();
        }
        metrics.inFlight.set(inFlight.decrementAndGet());
        try {
            if (error != null) j.sink.onError(error);
            else j.sink.onDone(result);
        } catch (RuntimeException e) {
            System.err.println("tune4j-server: a response handler failed: " + e);
        }
    }

    private void abortAll(RuntimeException why) {
        for (Job j : List.copyOf(running)) {
            decoder.cancel(j.sequence);
            metrics.cancelled.increment();
            end(j, j.sequence.result(), null);
        }
        for (Object o; (o = inbox.poll()) != null; ) pending.add(o);
        for (Object o : pending) {
            if (o instanceof Job j) end(j, null, why);
            else if (o instanceof Task<?> t) t.result().completeExceptionally(why);
        }
        pending.clear();
    }
}
