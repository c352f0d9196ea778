package io.tune4j.train;

import io.tune4j.io.AtomicFiles;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.Parameter;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoints of a run under {@code <outDir>/checkpoints/step-N/}: trainable parameter values
 * (trainable.safetensors), AdamW moments (optimizer.safetensors), the loop state (state.json),
 * the configuration (config.yaml) and the metrics so far (metrics.jsonl).
 *
 * <p>A checkpoint is built in a hidden temporary directory, every file fsynced, and only then
 * renamed to step-N: a crash or a full disk mid-write leaves earlier checkpoints untouched and
 * never a step-N directory that is incomplete. Only the newest {@code keep} are kept; an old one
 * is renamed out of sight before its files are deleted, so that a crash during the deletion does
 * not leave a step-N directory with files missing either. Hidden leftovers of a crash are removed
 * by the next write.
 */
public final class CheckpointStore {
    static final String PREFIX = "step-";
    private static final Pattern NAME = Pattern.compile("step-(\\d+)");
    private static final String TMP_PREFIX = ".tmp-step-";
    static final String PARAMS = "trainable.safetensors";
    static final String OPTIMIZER = "optimizer.safetensors";
    static final String STATE = "state.json";
    static final String CONFIG = "config.yaml";
    static final String METRICS = "metrics.jsonl";
    static final ObjectMapper JSON = new ObjectMapper();

    /** Called before each file of a checkpoint is written; tests throw from it to simulate failures. */
    public interface WriteHook {
        void beforeWrite(Path file) throws IOException;
    }

    /** A checkpoint read back: its loop state, configuration and metrics up to its step. */
    public record Checkpoint(Path dir, TrainState state, TrainConfig config, List<StepMetrics> metrics) {}

    private final Path dir;
    private final int keep;
    private final WriteHook hook;

    public CheckpointStore(Path dir, int keep, WriteHook hook) {
        this.dir = dir;
        this.keep = keep;
        this.hook = hook == null ? f -> {} : hook;
    }

    public Path directory() {
        return dir;
    }

    /** Published checkpoints, oldest first. */
    public List<Path> list() {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> stepOf(p) >= 0 && Files.isDirectory(p))
                    .sorted(Comparator.comparingInt(CheckpointStore::stepOf)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list checkpoints: " + e.getMessage(), e);
        }
    }

    public Optional<Path> latest() {
        List<Path> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    static int stepOf(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** Writes and publishes step-N; on failure removes the partial directory and rethrows naming the file. */
    public Path write(TrainState state, AdamW optimizer, TrainConfig config, List<StepMetrics> metrics) {
        Path target = dir.resolve(PREFIX + state.step());
        Path tmp = null;
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                // without this a power loss may drop checkpoints/ itself, with all that was fsynced inside it
                AtomicFiles.syncDirectory(dir.toAbsolutePath().getParent());
            }
            removeStaleTemporaries();
            tmp = Files.createTempDirectory(dir, TMP_PREFIX + state.step() + "-");
            writeParams(tmp.resolve(PARAMS), optimizer);
            writeOptimizer(tmp.resolve(OPTIMIZER), optimizer);
            writeFile(tmp.resolve(CONFIG), config.toYaml().getBytes(StandardCharsets.UTF_8));
            StringBuilder lines = new StringBuilder();
            for (StepMetrics m : metrics) lines.append(JSON.writeValueAsString(m)).append('\n');
            writeFile(tmp.resolve(METRICS), lines.toString().getBytes(StandardCharsets.UTF_8));
            // state.json last: a directory holding it was written through
            writeFile(tmp.resolve(STATE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
            AtomicFiles.syncDirectory(tmp);
            publish(tmp, target);
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException(target + ": writing checkpoint failed: " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException(target + ": writing checkpoint failed: " + e.getMessage(), e.getCause());
        } finally {
            if (tmp != null) AtomicFiles.deleteQuietly(tmp);
        }
        prune();
        return target;
    }

    private void publish(Path tmp, Path target) throws IOException {
        // a directory cannot be renamed over a non-empty one: move the old aside first
        Path old = Files.exists(target) ? moveAside(target) : null;
        AtomicFiles.move(tmp, target);
        AtomicFiles.syncDirectory(dir);
        if (old != null) AtomicFiles.deleteQuietly(old);
    }

    /** Renames a checkpoint to a hidden name that {@link #list()} ignores and the next write removes. */
    private Path moveAside(Path ckpt) throws IOException {
        Path old = Files.createTempDirectory(dir, ".old-" + ckpt.getFileName() + "-");
        Files.delete(old);
        Files.move(ckpt, old, StandardCopyOption.ATOMIC_MOVE);
        return old;
    }

    private void removeStaleTemporaries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(TMP_PREFIX) || n.startsWith(".old-" + PREFIX)) AtomicFiles.deleteQuietly(p);
            }
        }
    }

    private void prune() {
        if (keep <= 0) return;
        List<Path> all = list();
        for (int i = 0; i < all.size() - keep; i++) {
            try {
                Path old = moveAside(all.get(i));
                AtomicFiles.syncDirectory(dir);
                AtomicFiles.deleteQuietly(old);
            } catch (IOException e) {
                // housekeeping only: a checkpoint that cannot be moved stays, complete, for the next prune
            }
        }
    }

    private void writeFile(Path file, byte[] bytes) throws IOException {
        hook.beforeWrite(file);
        AtomicFiles.writeSynced(file, bytes);
    }

    private void writeParams(Path file, AdamW opt) throws IOException {
        hook.beforeWrite(file);
        SafetensorsWriter w = new SafetensorsWriter().stagingFrom(opt.ops()).metadata("format", "tune4j-checkpoint");
        for (Parameter p : opt.parameters()) w.add(p.name(), p.value());
        w.write(file);
    }

    private void writeOptimizer(Path file, AdamW opt) throws IOException {
        hook.beforeWrite(file);
        SafetensorsWriter w = new SafetensorsWriter().stagingFrom(opt.ops()).metadata("step", Integer.toString(opt.stepCount()));
        List<Parameter> ps = opt.parameters();
        for (int i = 0; i < ps.size(); i++) {
            w.add("exp_avg/" + ps.get(i).name(), opt.firstMoment(i));
            w.add("exp_avg_sq/" + ps.get(i).name(), opt.secondMoment(i));
        }
        w.write(file);
    }

    // ---------------------------------------------------------------- reading

    /** Reads a checkpoint's state, configuration and metrics; errors name the file. */
    public static Checkpoint read(Path ckpt) {
        Path stateFile = ckpt.resolve(STATE);
        TrainState state;
        try {
            state = JSON.readValue(Files.readAllBytes(stateFile), TrainState.class);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(stateFile + ": not found (not a checkpoint directory?)");
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(stateFile + ":" + e.getLocation().getLineNr() + ": "
                    + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(stateFile + ": cannot read: " + e.getMessage(), e);
        }
        TrainConfig config = TrainConfig.load(ckpt.resolve(CONFIG));
        List<StepMetrics> metrics = MetricsLog.read(ckpt.resolve(METRICS));
        return new Checkpoint(ckpt, state, config, metrics);
    }

    /** Loads parameter values and AdamW moments and step from a checkpoint into the optimiser's parameters. */
    public static void restore(Path ckpt, AdamW opt) {
        List<Parameter> ps = opt.parameters();
        Set<String> seen = new HashSet<>();
        try (SafetensorsFile params = SafetensorsFile.open(ckpt.resolve(PARAMS));
             SafetensorsFile moments = SafetensorsFile.open(ckpt.resolve(OPTIMIZER))) {
            for (int i = 0; i < ps.size(); i++) {
                Parameter p = ps.get(i);
                if (!seen.add(p.name())) throw new IllegalArgumentException("two trainable parameters are named " + p.name());
                copy(opt.ops(), params, p.name(), p.value());
                copy(opt.ops(), moments, "exp_avg/" + p.name(), opt.firstMoment(i));
                copy(opt.ops(), moments, "exp_avg_sq/" + p.name(), opt.secondMoment(i));
            }
            if (params.names().size() != ps.size()) {
                List<String> extra = new ArrayList<>(params.names());
                extra.removeAll(seen);
                throw new IllegalArgumentException(params.path() + ": holds tensors no trainable parameter matches: " + extra
                        + " (was the checkpoint written by another fine-tuning method?)");
            }
            String step = moments.metadata().get("step");
            try {
                opt.setStepCount(Integer.parseInt(step));
            } catch (NumberFormatException | NullPointerException e) {
                throw new IllegalArgumentException(moments.path() + ": metadata 'step' must be an integer, got " + step);
            }
        }
    }

    private static void copy(io.tune4j.ops.Ops ops, SafetensorsFile f, String name, Tensor into) {
        if (!f.contains(name)) {
            throw new IllegalArgumentException(f.path() + ": no tensor '" + name
                    + "' (was the checkpoint written by another fine-tuning method?)");
        }
        Tensor t = f.tensor(name);
        if (!Arrays.equals(t.shape(), into.shape())) {
            throw new IllegalArgumentException(f.path() + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(into.shape()));
        }
        ops.copy(into, t);
    }
}
