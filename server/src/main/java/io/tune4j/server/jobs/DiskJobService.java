package io.tune4j.server.jobs;

import io.tune4j.runtime.NativeThreads;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tune4j.finetune.FineTuneResult;
import io.tune4j.finetune.FineTuneSpec;
import io.tune4j.io.AtomicFiles;
import io.tune4j.train.EvalResult;
import io.tune4j.train.StepMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Fine-tuning jobs kept on disk under {@code <data-dir>/jobs/<id>/}: job.json (the state, replaced
 * atomically at every change of status and at checkpoints), events.jsonl (the event log) and out/
 * (the run: data cache, checkpoints, metrics, eval.json, the adapter or model).
 *
 * <p>One worker thread runs the jobs one at a time, in the order they were created. After a restart
 * a job found running resumes from its newest checkpoint ahead of the queue, queued jobs stay
 * queued, and the adapters of succeeded jobs are registered for inference again. A job that
 * succeeds with an adapter (LoRA, bottleneck adapter, prefix) registers it under its
 * fine_tuned_model name at once. A lock file keeps a second server off the same directory.
 *
 * <p>Every method but {@link #close} returns without waiting for training; they do touch the disk,
 * so transports call them off their event loops.
 */
public final class DiskJobService implements JobService, AutoCloseable {
    /** Makes a finished job's adapter callable by name, the way POST /v1/adapters does. */
    public interface AdapterRegistrar {
        java.util.concurrent.CompletableFuture<Void> register(String name, Path dir);
    }

    /**
     * @param baseModel the served model's id, the only model a job may name
     * @param modelPath where the served model was loaded from; each job loads its own copy
     * @param tokenizer the tokenizer file given beside the model, or null
     * @param contextLength the model's context, the largest seq_len
     * @param stepPauseMillis sleep after each training step (0); lets tests hold a job mid-run
     */
    public record Settings(String baseModel, Path modelPath, Path tokenizer, int contextLength, long stepPauseMillis) {}

    private static final Pattern JOB_ID = Pattern.compile("ftjob-[a-z0-9]{24}");
    private static final Pattern SUFFIX = Pattern.compile("[A-Za-z0-9._-]{1,40}");
    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
    static final List<String> STATES = List.of("validating_files", "queued", "running", "succeeded", "failed", "cancelled");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dataDir;
    private final Path jobsDir;
    private final FileStore files;
    private final Settings settings;
    private final AdapterRegistrar registrar;
    private final SecureRandom random = new SecureRandom();
    private final FileChannel lockChannel;
    private final FileLock lock;
    // guarded by this
    private final Map<String, JobRecord> jobs = new HashMap<>();
    private final Map<String, Map<String, Object>> effective = new HashMap<>();
    private final Map<String, JobEventLog> logs = new ConcurrentHashMap<>();
    private final Map<String, Long> tokensPerStep = new HashMap<>();
    /** Each job's status, readable without the lock: /metrics reads it on an event loop while the lock may wait on an fsync. */
    private final Map<String, String> statuses = new ConcurrentHashMap<>();
    private Thread worker;
    private JobRun current;
    private String currentId;
    private boolean finishing; // the current job trained and is being registered: too late to cancel
    private boolean stopping;
    private boolean lockReleased;

    private DiskJobService(Path dataDir, FileStore files, Settings settings, AdapterRegistrar registrar, FileChannel lockChannel,
                           FileLock lock) {
        this.dataDir = dataDir;
        this.jobsDir = dataDir.resolve("jobs");
        this.files = files;
        this.settings = settings;
        this.registrar = registrar;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Takes the data directory (failing when another server holds it) and reads the jobs found there;
     * nothing runs until {@link #start}.
     */
    public static DiskJobService open(Path dataDir, FileStore files, Settings settings, AdapterRegistrar registrar) {
        Path jobsDir = dataDir.resolve("jobs");
        FileChannel ch;
        FileLock lock;
        try {
            Files.createDirectories(jobsDir);
            ch = FileChannel.open(jobsDir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(jobsDir + ": cannot open the job directory: " + e.getMessage(), e);
        }
        if (lock == null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing held
            }
            throw new IllegalStateException(dataDir + ": another server is using this data directory (--data-dir)");
        }
        DiskJobService s = new DiskJobService(dataDir, files, settings, registrar, ch, lock);
        try {
            s.load();
        } catch (RuntimeException e) {
            s.releaseLock();
            throw e;
        }
        return s;
    }

    /** Registers the adapters of succeeded jobs again (waiting for them), then starts the worker. */
    public void start() {
        List<JobRecord> done;
        synchronized (this) {
            done = jobs.values().stream().filter(r -> r.status.equals("succeeded") && r.fineTunedModel != null
                    && r.result != null).sorted(Comparator.comparingLong(r -> r.createdMillis)).toList();
        }
        for (JobRecord r : done) {
            try {
                registrar.register(r.fineTunedModel, dataDir.resolve(r.result)).get(5, TimeUnit.MINUTES);
            } catch (Exception e) {
                Throwable c = e.getCause() != null ? e.getCause() : e;
                System.err.println("tune4j-server: job " + r.id + ": cannot register its adapter " + r.fineTunedModel + " again: "
                        + c.getMessage());
            }
        }
        worker = new Thread(this::work, "tune4j-jobs");
        worker.setDaemon(true);
        worker.start();
    }

    // ------------------------------------------------------------------ JobService

    @Override
    public JobInfo create(JobRequest req) {
        if (req.model() == null || req.model().isBlank()) throw invalid("model", "model is required (the served model, '"
                + settings.baseModel() + "')");
        if (!req.model().equals(settings.baseModel())) {
            throw new JobException(JobException.Kind.NOT_FOUND, "model", "model '" + req.model() + "' is not served here; "
                    + "jobs fine-tune the served model '" + settings.baseModel() + "'");
        }
        JobHyperparameters hp = JobHyperparameters.parse(req.methodType(), req.hyperparameters(), settings.contextLength());
        FileStore.StoredFile train = files.require("training_file", req.trainingFile());
        FileStore.StoredFile val = req.validationFile() == null ? null : files.require("validation_file", req.validationFile());
        if (req.suffix() != null && !SUFFIX.matcher(req.suffix()).matches()) {
            throw invalid("suffix", "suffix must be 1-40 letters, digits, '.', '_' or '-'");
        }
        JobRecord r = new JobRecord();
        r.model = req.model();
        r.status = "queued";
        r.createdMillis = System.currentTimeMillis();
        r.trainingFile = train.id();
        r.validationFile = val == null ? null : val.id();
        r.method = hp.method;
        r.hyperparameters = new LinkedHashMap<>(hp.given());
        r.suffix = req.suffix();
        r.seed = req.seed() != null ? req.seed() : 42;
        if (hp.given().get("max_steps") != null) r.totalSteps = ((Number) hp.given().get("max_steps")).intValue();
        synchronized (this) {
            if (stopping) throw new JobException(JobException.Kind.CONFLICT, null, "the server is shutting down");
            do r.id = newId(); while (jobs.containsKey(r.id));
            persist(r);
            jobs.put(r.id, r);
            statuses.put(r.id, r.status);
            effective.put(r.id, hp.effective());
            logs.put(r.id, new JobEventLog(jobsDir.resolve(r.id).resolve("events.jsonl")));
            event(r.id, "info", "message", "Created fine-tuning job: " + r.id, null);
            notifyAll();
            return info(r);
        }
    }

    @Override
    public synchronized Optional<JobInfo> get(String id) {
        JobRecord r = id == null ? null : jobs.get(id);
        return r == null ? Optional.empty() : Optional.of(info(r));
    }

    @Override
    public synchronized List<JobInfo> list(int limit, String after) {
        List<JobRecord> newestFirst = new ArrayList<>(jobs.values());
        newestFirst.sort(Comparator.comparingLong((JobRecord r) -> r.createdMillis).thenComparing(r -> r.id).reversed());
        int from = 0;
        if (after != null) {
            while (from < newestFirst.size() && !newestFirst.get(from).id.equals(after)) from++;
            from++;
        }
        List<JobInfo> out = new ArrayList<>();
        for (int i = from; i < newestFirst.size() && out.size() < limit; i++) out.add(info(newestFirst.get(i)));
        return out;
    }

    @Override
    public JobInfo cancel(String id) {
        synchronized (this) {
            JobRecord r = require(id);
            if (r.terminal() || (id.equals(currentId) && finishing)) return info(r);
            setStatus(r, "cancelled");
            r.finishedMillis = System.currentTimeMillis();
            persist(r);
            if (id.equals(currentId) && current != null) current.stop(JobRun.Stop.CANCEL);
            event(id, "info", "message", "Fine-tuning job cancelled", null);
            JobInfo done = info(r);
            logs.get(id).end(done);
            return done;
        }
    }

    @Override
    public AutoCloseable watch(String id, long afterSeq, JobEventListener listener) {
        JobEventLog log = id == null ? null : logs.get(id);
        if (log == null) throw notFound(id);
        return log.watch(afterSeq, listener);
    }

    @Override
    public List<JobEvent> events(String id) {
        JobEventLog log = id == null ? null : logs.get(id);
        if (log == null) throw notFound(id);
        return log.all();
    }

    /** How many jobs are in each state (every state listed, for /metrics); never waits for the service's lock. */
    public Map<String, Integer> countByStatus() {
        Map<String, Integer> m = new TreeMap<>();
        for (String s : STATES) m.put(s, 0);
        for (String st : statuses.values()) m.merge(st, 1, Integer::sum);
        return m;
    }

    /**
     * Stops the worker: a running job checkpoints and stays running on disk, to resume at the next
     * start; queued jobs stay queued. Waits for the run to let go of its files.
     */
    @Override
    public void close() {
        Thread w;
        synchronized (this) {
            if (stopping) return;
            stopping = true;
            if (current != null) current.stop(JobRun.Stop.SHUTDOWN);
            notifyAll();
            w = worker;
        }
        if (w != null) {
            try {
                w.join(TimeUnit.MINUTES.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (JobEventLog l : logs.values()) l.close();
        if (w == null || !w.isAlive()) releaseLock();
        else System.err.println("tune4j-server: the running job has not stopped yet; the data directory stays locked until it does");
    }

    // ------------------------------------------------------------------ worker

    private void work() {
        NativeThreads.adopt(); // --threads was set on the main thread
        try {
            while (true) {
                String id;
                boolean resuming;
                JobRun run;
                synchronized (this) {
                    JobRecord r = next();
                    while (!stopping && r == null) {
                        wait();
                        r = next();
                    }
                    if (stopping) return;
                    id = r.id;
                    resuming = r.status.equals("running");
                    setStatus(r, "running");
                    if (r.startedMillis == null) r.startedMillis = System.currentTimeMillis();
                    FineTuneSpec spec;
                    try {
                        spec = spec(r);
                    } catch (RuntimeException e) {
                        fail(r, e);
                        continue;
                    }
                    persist(r);
                    run = new JobRun(spec, new Progress(id), settings.stepPauseMillis());
                    current = run;
                    currentId = id;
                    finishing = false;
                    event(id, "info", "message", resuming ? "Fine-tuning job resumed after a server restart"
                            : "Fine-tuning job started", null);
                }
                try {
                    succeed(id, run.run());
                } catch (JobRun.Stopped s) {
                    if (s.why == JobRun.Stop.SHUTDOWN) stoppedForShutdown(id);
                } catch (Throwable t) {
                    synchronized (this) {
                        if (stopping) stoppedForShutdown(id); // a failure while stopping: let the next start retry
                        else fail(jobs.get(id), t);
                    }
                } finally {
                    synchronized (this) {
                        current = null;
                        currentId = null;
                        finishing = false;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (this) {
                if (stopping) releaseLock();
            }
        }
    }

    /** The job to run next: one found running after a restart, else the oldest queued one. */
    private JobRecord next() {
        JobRecord best = null;
        for (JobRecord r : jobs.values()) {
            boolean runnable = r.status.equals("running") || r.status.equals("queued");
            if (!runnable) continue;
            if (best == null || rank(r) < rank(best) || rank(r) == rank(best) && r.createdMillis < best.createdMillis) best = r;
        }
        return best;
    }

    private static int rank(JobRecord r) {
        return r.status.equals("running") ? 0 : 1;
    }

    private FineTuneSpec spec(JobRecord r) {
        FileStore.StoredFile train = files.require("training_file", r.trainingFile);
        FileStore.StoredFile val = r.validationFile == null ? null : files.require("validation_file", r.validationFile);
        JobHyperparameters hp = JobHyperparameters.parse(r.method, r.hyperparameters, settings.contextLength());
        return JobRun.spec(settings.modelPath().toString(), settings.tokenizer() == null ? null : settings.tokenizer().toString(),
                files.path(train), val == null ? null : files.path(val), hp, r.seed, outDir(r.id));
    }

    private void succeed(String id, FineTuneResult result) {
        JobRecord r;
        String name = null;
        synchronized (this) {
            r = jobs.get(id);
            if (r.terminal()) return; // cancelled while evaluating
            finishing = true;
            if (!r.method.equals("full") && result.resultDir() != null) name = fineTunedName(r);
        }
        if (name != null) {
            try {
                registrar.register(name, result.resultDir()).get(10, TimeUnit.MINUTES);
            } catch (Exception e) {
                Throwable c = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
                synchronized (this) {
                    if (stopping) {
                        stoppedForShutdown(id);
                        return;
                    }
                    fail(r, new RegistrationFailed("the job trained but its adapter could not be registered: " + c.getMessage()));
                }
                return;
            }
        }
        synchronized (this) {
            setStatus(r, "succeeded");
            r.finishedMillis = System.currentTimeMillis();
            r.fineTunedModel = name;
            r.step = result.training().steps();
            if (tokensPerStep.containsKey(id)) r.trainedTokens = r.step * tokensPerStep.get(id);
            r.metrics = evaluation(result);
            if (result.resultDir() != null) r.result = dataDir.relativize(result.resultDir().toAbsolutePath()).toString();
            persist(r);
            Map<String, Object> data = new LinkedHashMap<>();
            if (name != null) data.put("fine_tuned_model", name);
            data.put("steps", r.step);
            event(id, "info", "message", "The job has successfully completed", data);
            logs.get(id).end(info(r));
        }
    }

    /** A job that failed: its status, an OpenAI-shaped error, an event, the end of its watches. */
    private void fail(JobRecord r, Throwable t) {
        if (r.terminal()) return;
        setStatus(r, "failed");
        r.finishedMillis = System.currentTimeMillis();
        String message = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
        if (t instanceof JobException j) {
            r.errorCode = "invalid_job";
            r.errorParam = j.param;
        } else if (t instanceof RegistrationFailed) {
            r.errorCode = "adapter_registration_failed";
        } else if (t instanceof IllegalArgumentException) {
            r.errorCode = "invalid_training_data"; // the data or settings could not make a run (bad records, too long, ...)
        } else {
            r.errorCode = "training_failed";
            System.err.println("tune4j-server: job " + r.id + " failed: " + t);
        }
        r.errorMessage = withoutServerPaths(r, message);
        persist(r);
        event(r.id, "error", "message", "Fine-tuning job failed: " + r.errorMessage, null);
        logs.get(r.id).end(info(r));
    }

    private synchronized void stoppedForShutdown(String id) {
        event(id, "info", "message", "The server is stopping; the job resumes from its last checkpoint when it starts again", null);
        logs.get(id).sync();
    }

    /** The worker's view of the run: the job's step and tokens, and its events. */
    private final class Progress implements JobRun.Progress {
        private final String id;

        Progress(String id) {
            this.id = id;
        }

        @Override
        public void started(int startStep, int totalSteps, long perStep) {
            synchronized (DiskJobService.this) {
                JobRecord r = jobs.get(id);
                tokensPerStep.put(id, perStep);
                if (r.terminal()) return;
                r.totalSteps = totalSteps;
                r.step = startStep;
                r.trainedTokens = startStep * perStep;
                persist(r);
                Map<String, Object> data = new LinkedHashMap<>();
                data.put("step", startStep);
                data.put("total_steps", totalSteps);
                event(id, "info", "message", startStep > 0 ? "Resumed training from the checkpoint at step " + startStep
                        + " of " + totalSteps : "Training started: " + totalSteps + " steps", data);
            }
        }

        @Override
        public void step(StepMetrics m) {
            Map<String, Object> data = new LinkedHashMap<>();
            synchronized (DiskJobService.this) {
                JobRecord r = jobs.get(id);
                if (r.terminal()) return;
                r.step = m.step();
                r.trainedTokens = m.step() * tokensPerStep.getOrDefault(id, 0L);
                data.put("step", m.step());
                data.put("total_steps", r.totalSteps);
            }
            data.put("train_loss", m.loss());
            data.put("learning_rate", m.lr());
            data.put("tokens_per_second", m.tokensPerSecond());
            data.put("epoch", m.epoch());
            data.put("grad_norm", m.gradNorm());
            if (m.valLoss() != null) data.put("valid_loss", m.valLoss());
            event(id, "info", "metrics", String.format(Locale.ROOT, "Step %d/%d: training loss=%.4f", m.step(),
                    data.get("total_steps"), m.loss()), data);
        }

        @Override
        public void validated(EvalResult r) {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("step", r.step());
            data.put("valid_loss", r.loss());
            data.put("improved", r.improved());
            event(id, "info", "message", String.format(Locale.ROOT, "Validation at step %d: loss=%.4f", r.step(), r.loss()), data);
        }

        @Override
        public void checkpointed(int step) {
            synchronized (DiskJobService.this) {
                JobRecord r = jobs.get(id);
                if (!r.terminal()) persist(r);
            }
            event(id, "info", "message", "Checkpoint written at step " + step, Map.of("step", step));
            JobEventLog log = logs.get(id);
            log.sync();
        }
    }

    /** The adapter trained but the server could not make it callable. */
    private static final class RegistrationFailed extends RuntimeException {
        RegistrationFailed(String m) {
            super(m);
        }
    }

    // ------------------------------------------------------------------ state on disk

    private void load() {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(jobsDir)) {
            dirs = s.filter(p -> JOB_ID.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(jobsDir + ": cannot list jobs: " + e.getMessage(), e);
        }
        for (Path d : dirs) {
            Path f = d.resolve("job.json");
            if (!Files.isRegularFile(f)) continue; // created but never written: the create call failed
            JobRecord r;
            try {
                r = JSON.readValue(f.toFile(), JobRecord.class);
            } catch (IOException e) {
                System.err.println("tune4j-server: " + f + ": unreadable job, skipped: " + e.getMessage());
                continue;
            }
            if (!d.getFileName().toString().equals(r.id) || !STATES.contains(r.status)) {
                System.err.println("tune4j-server: " + f + ": not a job of this directory, skipped");
                continue;
            }
            if (r.status.equals("validating_files")) r.status = "queued";
            if (r.hyperparameters == null) r.hyperparameters = new LinkedHashMap<>();
            jobs.put(r.id, r);
            statuses.put(r.id, r.status);
            try {
                effective.put(r.id, JobHyperparameters.parse(r.method, r.hyperparameters, settings.contextLength()).effective());
            } catch (JobException e) {
                effective.put(r.id, r.hyperparameters);
            }
            JobEventLog log = new JobEventLog(d.resolve("events.jsonl"));
            logs.put(r.id, log);
            if (r.terminal()) log.endedEarlier(info(r));
        }
    }

    private void persist(JobRecord r) {
        try {
            AtomicFiles.write(jobsDir.resolve(r.id).resolve("job.json"), JSON.writeValueAsBytes(r));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private Path outDir(String id) {
        return jobsDir.resolve(id).resolve("out");
    }

    private void releaseLock() {
        if (lockReleased) return;
        lockReleased = true;
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException ignored) {
            // the lock goes with the channel
        }
    }

    // ------------------------------------------------------------------ helpers

    private void event(String id, String level, String type, String message, Map<String, Object> data) {
        JobEventLog log = logs.get(id);
        if (log != null) log.append(level, type, message, data);
    }

    /** Messages from the run name files by their path on the server; clients know them by id. */
    private String withoutServerPaths(JobRecord r, String message) {
        String m = message;
        for (String id : new String[] {r.trainingFile, r.validationFile}) {
            if (id == null) continue;
            FileStore.StoredFile f = files.get(id).orElse(null);
            if (f != null) m = m.replace(files.path(f).toString(), id);
        }
        return m.replace(dataDir.toString(), "<data-dir>");
    }

    private void setStatus(JobRecord r, String status) {
        r.status = status;
        statuses.put(r.id, status);
    }

    private JobInfo info(JobRecord r) {
        return r.info(effective.get(r.id));
    }

    private JobRecord require(String id) {
        JobRecord r = id == null ? null : jobs.get(id);
        if (r == null) throw notFound(id);
        return r;
    }

    private static Map<String, Object> evaluation(FineTuneResult result) {
        if (result.evaluation() == null) return null;
        try {
            return JSON.readValue(result.evaluation().toJson(), new TypeReference<LinkedHashMap<String, Object>>() {});
        } catch (IOException e) {
            return null;
        }
    }

    /** ft:BASE[:SUFFIX]:XXXXXXXX, an adapter name (at most 64 characters of the registry's alphabet). */
    static String fineTunedName(JobRecord r) {
        String tail = r.id.substring(r.id.length() - 8);
        String suffix = r.suffix == null ? "" : ":" + r.suffix;
        String base = r.model.replaceAll("[^A-Za-z0-9._-]", "-");
        int room = 64 - 3 - suffix.length() - 1 - tail.length();
        if (base.length() > room) base = base.substring(0, room);
        return "ft:" + base + suffix + ":" + tail;
    }

    private String newId() {
        StringBuilder b = new StringBuilder("ftjob-");
        for (int i = 0; i < 24; i++) b.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        return b.toString();
    }

    private static JobException invalid(String field, String message) {
        return new JobException(JobException.Kind.INVALID, field, message);
    }

    private static JobException notFound(String id) {
        return new JobException(JobException.Kind.NOT_FOUND, "id", "no job with id '" + id + "'");
    }
}
