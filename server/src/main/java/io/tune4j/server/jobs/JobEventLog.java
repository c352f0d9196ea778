package io.tune4j.server.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One job's events and the watchers following them. The log is events.jsonl in the job's
 * directory, appended to and never rewritten (so it needs no temp-file dance): a crash can at most
 * cut its last line, which reading skips and the next append cuts away. Replaying and subscribing
 * happen under one lock with appending, so a watcher sees every event once, in order.
 *
 * <p>Events are read from disk on first use and then kept in memory; they are small (one per
 * training step). Delivery happens on the appending thread: listeners must not block.
 */
final class JobEventLog {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private List<JobEvent> events; // null until loaded
    private final List<JobEventListener> listeners = new ArrayList<>();
    private FileChannel out;
    private JobInfo ended; // the terminal state once the job ended
    private long lastFlushNanos;

    JobEventLog(Path file) {
        this.file = file;
    }

    /** Appends an event and hands it to the watchers; dropped once the job has ended. */
    synchronized JobEvent append(String level, String type, String message, Map<String, Object> data) {
        load();
        if (ended != null) return null;
        long seq = events.isEmpty() ? 1 : events.get(events.size() - 1).seq() + 1;
        JobEvent e = new JobEvent(seq, System.currentTimeMillis() / 1000, level, type, message, data);
        events.add(e);
        write(e);
        for (JobEventListener l : List.copyOf(listeners)) deliver(l, e);
        return e;
    }

    /** Replays events after afterSeq, then follows; a job that ended gets onEnd right after the replay. */
    synchronized AutoCloseable watch(long afterSeq, JobEventListener listener) {
        load();
        for (JobEvent e : events) if (e.seq() > afterSeq) deliver(listener, e);
        if (ended != null) {
            listener.onEnd(ended);
            return () -> {};
        }
        listeners.add(listener);
        return () -> {
            synchronized (JobEventLog.this) {
                listeners.remove(listener);
            }
        };
    }

    /** All events, oldest first. */
    synchronized List<JobEvent> all() {
        load();
        return List.copyOf(events);
    }

    /** The job is terminal: watchers get its final state, and no event follows. */
    synchronized void end(JobInfo finalState) {
        if (ended != null) return;
        ended = finalState;
        sync();
        closeFile();
        for (JobEventListener l : List.copyOf(listeners)) {
            try {
                l.onEnd(finalState);
            } catch (RuntimeException e) {
                System.err.println("tune4j-server: a job watcher failed: " + e);
            }
        }
        listeners.clear();
    }

    /** Marks a job that ended before this server started, without touching its file. */
    synchronized void endedEarlier(JobInfo finalState) {
        ended = finalState;
    }

    /** Forces what was appended to disk (at checkpoints and state changes). */
    synchronized void sync() {
        if (out == null) return;
        try {
            out.force(false);
        } catch (IOException e) {
            System.err.println("tune4j-server: " + file + ": fsync failed: " + e.getMessage());
        }
    }

    /** Stops writing (server shutdown); events appended later reopen the file. */
    synchronized void close() {
        sync();
        closeFile();
    }

    private void deliver(JobEventListener l, JobEvent e) {
        try {
            l.onEvent(e);
        } catch (RuntimeException x) {
            System.err.println("tune4j-server: a job watcher failed: " + x);
        }
    }

    private void load() {
        if (events != null) return;
        events = new ArrayList<>();
        if (!Files.exists(file)) return;
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                try {
                    events.add(JSON.readValue(line, JobEvent.class));
                } catch (IOException torn) {
                    // only a crash mid-append leaves such a line, at the end; it is cut off before the next append
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read the job's events: " + e.getMessage(), e);
        }
    }

    private void write(JobEvent e) {
        try {
            if (out == null) {
                out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
                out.position(endOfLastLine(out));
                out.truncate(out.position());
            }
            ByteBuffer b = ByteBuffer.wrap((JSON.writeValueAsString(e) + "\n").getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) out.write(b);
            // metrics arrive every step; an fsync per step would cost more than a short step itself
            long now = System.nanoTime();
            if (!"metrics".equals(e.type()) || now - lastFlushNanos > 5_000_000_000L) {
                out.force(false);
                lastFlushNanos = now;
            }
        } catch (IOException x) {
            // losing the log must not fail the training it describes
            System.err.println("tune4j-server: " + file + ": cannot append an event: " + x.getMessage());
        }
    }

    /** The length of the file up to and including its last newline: what a crash mid-line left behind is dropped. */
    private static long endOfLastLine(FileChannel ch) throws IOException {
        long size = ch.size();
        ByteBuffer one = ByteBuffer.allocate(1);
        for (long p = size - 1; p >= 0; p--) {
            one.clear();
            ch.read(one, p);
            if (one.get(0) == '\n') return p + 1;
        }
        return 0;
    }

    private void closeFile() {
        if (out == null) return;
        try {
            out.close();
        } catch (IOException ignored) {
            // nothing left to write
        }
        out = null;
    }
}
