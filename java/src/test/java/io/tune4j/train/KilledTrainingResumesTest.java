package io.tune4j.train;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.tune4j.model.LoadedModel;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #3, the kill half: a training process is SIGKILLed at chosen moments (a checkpoint's
 * temporary directory appearing, its largest file being written, its last file, right after it is
 * published, while an old one is deleted, and at random times) and restarted each time. After every
 * kill each checkpoint on disk must be complete and none that was reported published may be lost;
 * each restart must resume from the newest; the run must end on exactly the loss curve and weights
 * of a run that was never interrupted.
 */
class KilledTrainingResumesTest {
    private static final long KILLED = 128 + 9; // what a JVM reports for a child ended by SIGKILL

    /** What {@link CheckpointWatch} saw happen in checkpoints/. */
    enum Kind { TEMP_CREATED, TEMP_FILE, PUBLISHED, PRUNING }

    record Event(Kind kind, String name) {}

    /**
     * When to kill: at the nth event of kind whose name contains {@code file} (any name if null),
     * plus a random delay up to maxDelayMs; kind null means that many milliseconds after the start.
     */
    record Moment(String what, Kind kind, String file, int nth, int minDelayMs, int maxDelayMs) {
        boolean matches(Event e) {
            return e.kind() == kind && (file == null || e.name().contains(file));
        }
    }

    static final List<Moment> MOMENTS = List.of(
            new Moment("at a random time after the start", null, null, 0, 300, 1500),
            new Moment("as a checkpoint's temporary directory appears", Kind.TEMP_CREATED, null, 2, 0, 0),
            new Moment("while optimizer.safetensors is written", Kind.TEMP_FILE, CheckpointStore.OPTIMIZER, 1, 0, 0),
            new Moment("right after a checkpoint is published", Kind.PUBLISHED, null, 1, 0, 0),
            new Moment("as state.json, the last file, is written", Kind.TEMP_FILE, CheckpointStore.STATE, 1, 0, 0),
            new Moment("while an old checkpoint is deleted", Kind.PRUNING, null, 1, 0, 0),
            new Moment("while a checkpoint is being written", Kind.TEMP_CREATED, null, 2, 0, 20),
            new Moment("at a random time between checkpoints", Kind.PUBLISHED, null, 2, 0, 150));

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void killedAtAnyMomentResumesFromTheNewestCompleteCheckpoint(@TempDir Path tmp) throws Exception {
        long seed = Long.getLong("tune4j.killSeed", System.nanoTime());
        SplittableRandom random = new SplittableRandom(seed);
        String context = "(kill delays from seed " + seed + "; rerun with -Dtune4j.killSeed=" + seed + ")";
        Path modelDir = Fixtures.require("models/stories260K-hf");
        Path tokens = tokenize(modelDir, tmp.resolve("tokens.txt"));

        // the uninterrupted run, in this JVM through the same code as the child
        Path reference = tmp.resolve("reference");
        TrainResult straight = ResumableTrainingMain.run(modelDir, tokens, reference, new PrintStream(OutputStream.nullOutputStream()));
        assertEquals(ResumableTrainingMain.STEPS, straight.steps());
        List<List<Object>> curve = TrainerTest.curve(MetricsLog.read(reference.resolve("metrics.jsonl")));
        Path lastRef = reference.resolve("checkpoints/step-" + ResumableTrainingMain.STEPS);
        Set<String> paramNames = SafetensorsFile.readInfos(lastRef.resolve(CheckpointStore.PARAMS)).keySet();
        Set<String> momentNames = SafetensorsFile.readInfos(lastRef.resolve(CheckpointStore.OPTIMIZER)).keySet();

        Path out = tmp.resolve("killed");
        Path ckpts = out.resolve("checkpoints");
        Files.createDirectories(ckpts); // watched from the first start on
        int latest = 0;
        int kills = 0;
        List<String> story = new ArrayList<>(List.of(context)); // printed: shows where the kills landed
        for (int run = 0; run <= MOMENTS.size(); run++) {
            Moment m = run < MOMENTS.size() ? MOMENTS.get(run) : null;
            String label = m == null ? "the last start, not killed" : "start " + (run + 1) + ", killed " + m.what();
            String what = label + " " + context;
            Path log = tmp.resolve("run-" + run + ".log");
            int delay = m == null ? 0 : m.minDelayMs() + random.nextInt(m.maxDelayMs() - m.minDelayMs() + 1);
            Killer killer = new Killer(m, delay);
            Process p;
            try (CheckpointWatch watch = new CheckpointWatch(ckpts, killer)) {
                p = start(modelDir, tokens, out, log);
                killer.process = p;
                if (m != null && m.kind() == null && !p.waitFor(delay, TimeUnit.MILLISECONDS)) p.destroyForcibly();
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                    fail(what + ": did not finish within 60 s; its output:\n" + Files.readString(log));
                }
            }
            List<String> lines = Files.readAllLines(log);
            int code = p.exitValue();
            if (code != 0 && code != KILLED) fail(what + ": exited with " + code + "; its output:\n" + String.join("\n", lines));

            // it continued from the newest checkpoint (a kill during start-up may come before it says so)
            int started = lines.stream().filter(l -> l.startsWith("start ")).mapToInt(l -> Integer.parseInt(l.substring(6)))
                    .findFirst().orElse(-1);
            if (started >= 0) assertEquals(latest, started, what + ": did not resume from the newest checkpoint");
            int published = lines.stream().filter(l -> l.startsWith("checkpoint ")).mapToInt(l -> Integer.parseInt(l.substring(11)))
                    .max().orElse(0);

            int now = checkCheckpoints(ckpts, curve, paramNames, momentNames, what);
            assertTrue(now >= latest, what + ": the newest checkpoint went back from step " + latest + " to " + now);
            assertTrue(now >= published, what + ": step " + published + " was published but the newest on disk is " + now);
            story.add(label + ": exit " + code + ", started at step " + started + ", newest checkpoint now step " + now
                    + ", leftovers " + leftovers(ckpts));
            latest = now;
            if (code == KILLED) kills++;
            if (code == 0) break;
            assertTrue(m != null, what + ": was killed");
        }
        System.out.println(String.join("\n", story));
        assertEquals(ResumableTrainingMain.STEPS, latest, "the run did not get to its end " + context);
        assertTrue(kills >= MOMENTS.size() - 1, "only " + kills + " of " + MOMENTS.size() + " kills landed " + context);

        assertEquals(curve, TrainerTest.curve(MetricsLog.read(out.resolve("metrics.jsonl"))),
                "the resumed run's loss curve differs from the uninterrupted one " + context);
        assertEquals(-1, Files.mismatch(reference.resolve("final/model.safetensors"), out.resolve("final/model.safetensors")),
                "the resumed run's weights differ from the uninterrupted one's " + context);
    }

    /**
     * Checks that checkpoints/ holds only complete checkpoints (and leftovers the next write
     * removes) whose metrics agree with the uninterrupted run; returns the newest step, 0 if none.
     */
    private static int checkCheckpoints(Path ckpts, List<List<Object>> curve, Set<String> paramNames, Set<String> momentNames,
                                        String what) throws IOException {
        try (Stream<Path> s = Files.list(ckpts)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                assertTrue(CheckpointStore.stepOf(p) >= 0 || n.startsWith(".tmp-step-") || n.startsWith(".old-step-"),
                        what + ": unexpected " + p);
            }
        }
        CheckpointStore store = new CheckpointStore(ckpts, 0, null);
        for (Path dir : store.list()) {
            int step = CheckpointStore.stepOf(dir);
            CheckpointStore.Checkpoint c;
            try {
                c = CheckpointStore.read(dir);
            } catch (RuntimeException e) {
                throw new AssertionError(what + ": " + dir + " is not a complete checkpoint: " + e.getMessage(), e);
            }
            assertEquals(step, c.state().step(), what + ": " + dir);
            assertEquals(curve.subList(0, step), TrainerTest.curve(c.metrics()), what + ": metrics of " + dir);
            try (SafetensorsFile params = SafetensorsFile.open(dir.resolve(CheckpointStore.PARAMS));
                 SafetensorsFile moments = SafetensorsFile.open(dir.resolve(CheckpointStore.OPTIMIZER))) {
                assertEquals(new TreeSet<>(paramNames), new TreeSet<>(params.names()), what + ": " + params.path());
                assertEquals(new TreeSet<>(momentNames), new TreeSet<>(moments.names()), what + ": " + moments.path());
            } catch (RuntimeException e) {
                throw new AssertionError(what + ": " + dir + " holds a damaged tensor file: " + e.getMessage(), e);
            }
        }
        return store.latest().map(CheckpointStore::stepOf).orElse(0);
    }

    /** Hidden files under checkpoints/ that a kill left for the next write to remove. */
    private static List<String> leftovers(Path ckpts) throws IOException {
        try (Stream<Path> s = Files.walk(ckpts)) {
            return s.filter(p -> p.getFileName().toString().startsWith(".")).map(p -> ckpts.relativize(p).toString()).sorted().toList();
        }
    }

    private static Path tokenize(Path modelDir, Path file) throws IOException {
        String text = Files.readString(Fixtures.require("data/tinystories/TinyStories-valid-excerpt.txt"));
        try (LoadedModel m = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
            int[] all = m.tokenizer().encode(text, true);
            int cut = all.length * 85 / 100;
            Files.writeString(file, ResumableTrainingMain.line(Arrays.copyOfRange(all, 0, cut)) + "\n"
                    + ResumableTrainingMain.line(Arrays.copyOfRange(all, cut, all.length)) + "\n");
        }
        return file;
    }

    /** A JVM on this test's class path running {@link ResumableTrainingMain}. */
    private static Process start(Path modelDir, Path tokens, Path out, Path log) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-Xss4m", "-cp", System.getProperty("java.class.path"),
                ResumableTrainingMain.class.getName(), modelDir.toString(), tokens.toString(), out.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        return pb.start();
    }

    /** Kills the process at its moment's nth matching event, after the delay. */
    private static final class Killer implements Consumer<Event> {
        private final Moment moment;
        private final int delayMs;
        private int seen;
        volatile Process process;

        Killer(Moment moment, int delayMs) {
            this.moment = moment;
            this.delayMs = delayMs;
        }

        @Override
        public void accept(Event e) {
            if (moment == null || moment.kind() == null || !moment.matches(e) || ++seen != moment.nth()) return;
            try {
                if (delayMs > 0) Thread.sleep(delayMs);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            Process p = process;
            if (p != null) p.destroyForcibly();
        }
    }

    /**
     * Reports, through inotify, a checkpoint's temporary directory appearing, files appearing or
     * growing in it, its publication as step-N, and files of a published checkpoint being deleted.
     */
    private static final class CheckpointWatch implements AutoCloseable {
        private final Path dir;
        private final WatchService ws;
        private final Thread thread;

        CheckpointWatch(Path dir, Consumer<Event> sink) throws IOException {
            this.dir = dir;
            ws = dir.getFileSystem().newWatchService();
            dir.register(ws, ENTRY_CREATE);
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.toList()) if (CheckpointStore.stepOf(p) >= 0) watch(p, ENTRY_DELETE);
            }
            thread = new Thread(() -> loop(sink), "checkpoint-watch");
            thread.setDaemon(true);
            thread.start();
        }

        private void loop(Consumer<Event> sink) {
            try {
                while (true) {
                    WatchKey key = ws.take();
                    Path where = (Path) key.watchable();
                    for (WatchEvent<?> e : key.pollEvents()) {
                        if (e.kind() == OVERFLOW) continue;
                        Event ev = classify(where, e.kind(), e.context().toString());
                        if (ev != null) sink.accept(ev);
                    }
                    key.reset();
                }
            } catch (InterruptedException | ClosedWatchServiceException e) {
                // closed
            }
        }

        private Event classify(Path where, WatchEvent.Kind<?> kind, String name) {
            if (where.equals(dir)) {
                if (name.startsWith(".tmp-step-")) {
                    watch(dir.resolve(name), ENTRY_CREATE, ENTRY_MODIFY);
                    return new Event(Kind.TEMP_CREATED, name);
                }
                if (CheckpointStore.stepOf(dir.resolve(name)) >= 0) {
                    // the same directory, now published: from here on only its deletion matters
                    watch(dir.resolve(name), ENTRY_DELETE);
                    return new Event(Kind.PUBLISHED, name);
                }
                return null;
            }
            return new Event(kind == ENTRY_DELETE ? Kind.PRUNING : Kind.TEMP_FILE, name);
        }

        private void watch(Path p, WatchEvent.Kind<?>... kinds) {
            try {
                p.register(ws, kinds);
            } catch (IOException | ClosedWatchServiceException e) {
                // already gone: nothing to see there
            }
        }

        @Override
        public void close() throws IOException, InterruptedException {
            ws.close();
            thread.join(5000);
        }
    }
}
