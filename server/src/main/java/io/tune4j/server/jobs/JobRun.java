package io.tune4j.server.jobs;

import io.tune4j.finetune.DataSpec;
import io.tune4j.finetune.EvalSpec;
import io.tune4j.finetune.FineTuneResult;
import io.tune4j.finetune.FineTuneRun;
import io.tune4j.finetune.FineTuneSpec;
import io.tune4j.train.EvalResult;
import io.tune4j.train.StepMetrics;
import io.tune4j.train.TrainConfig;
import io.tune4j.train.TrainResult;
import io.tune4j.train.TrainingListener;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One job's training, on the worker thread: a {@link FineTuneRun} (data, base evaluation, training,
 * tuned evaluation, result) on its own copy of the base model, loaded from the served model's path,
 * so that inference keeps its model. It always resumes from the newest checkpoint in its output
 * directory, which is how a job that was running when the server stopped carries on.
 */
final class JobRun implements TrainingListener {
    /** What the service hears from the run, on the worker thread. */
    interface Progress {
        void started(int startStep, int totalSteps, long tokensPerStep);

        void step(StepMetrics m);

        void validated(EvalResult r);

        void checkpointed(int step);
    }

    /** Why the run stopped early. */
    enum Stop { CANCEL, SHUTDOWN }

    /** Thrown out of the run once it stopped on request: skips the tuned evaluation that would follow. */
    static final class Stopped extends RuntimeException {
        final Stop why;

        Stopped(Stop why) {
            super("stopped: " + why, null, false, false);
            this.why = why;
        }
    }

    private final FineTuneSpec spec;
    private final Progress progress;
    private final long stepPauseMillis;
    private volatile Stop stop;

    JobRun(FineTuneSpec spec, Progress progress, long stepPauseMillis) {
        this.spec = spec;
        this.progress = progress;
        this.stepPauseMillis = stepPauseMillis;
    }

    /** The run of a job: its files, its hyperparameters and seed, its output directory. */
    static FineTuneSpec spec(String modelPath, String tokenizer, Path trainFile, Path validationFile, JobHyperparameters hp,
                             long seed, Path out) {
        DataSpec data = new DataSpec(trainFile.toString(), validationFile == null ? null : validationFile.toString(), null,
                hp.template(), "jsonl", null, null, null, null, null, hp.seqLen(), hp.truncation(), null, null, null, hp.pack(), null, null);
        return new FineTuneSpec(modelPath, tokenizer, data, hp.methodSpec(), hp.trainConfig(seed), EvalSpec.defaults(),
                out.toString());
    }

    /** Trains to the end; throws {@link Stopped} when stopped on request, anything else when the run failed. */
    FineTuneResult run() {
        Path out = Path.of(spec.out());
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot create the job's output directory: " + e.getMessage(), e);
        }
        try (PrintStream log = new PrintStream(new FileOutputStream(out.resolve("train.log").toFile(), true), true,
                StandardCharsets.UTF_8)) {
            // on the CPU: the scheduler may hold the GPU, and the CUDA backend's per-process result slots
            // must not serve two threads at once
            FineTuneResult r = new FineTuneRun(spec, log).backend(io.tune4j.ops.cpu.CpuOps.INSTANCE).listener(this)
                    .progress(false).resume(true).run();
            Stop s = stop;
            if (s != null) throw new Stopped(s);
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": " + e.getMessage(), e);
        }
    }

    /** Asks the run to stop before its next step; it checkpoints first, so it can resume. */
    void stop(Stop why) {
        synchronized (this) {
            if (stop == null) stop = why;
            notifyAll();
        }
    }

    @Override
    public void onStart(TrainConfig config, int startStep, int totalSteps) {
        progress.started(startStep, totalSteps, (long) config.batchSize() * config.seqLen() * config.gradAccumSteps());
    }

    @Override
    public void onStep(StepMetrics m) {
        progress.step(m);
        if (stepPauseMillis > 0) {
            synchronized (this) {
                try {
                    if (stop == null) wait(stepPauseMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Override
    public void onEval(EvalResult r) {
        progress.validated(r);
    }

    @Override
    public void onCheckpoint(int step, Path dir) {
        progress.checkpointed(step);
    }

    @Override
    public void onFinish(TrainResult result) {
        Stop s = stop;
        if (s != null && result.status() == TrainResult.Status.CANCELLED) throw new Stopped(s);
    }

    @Override
    public boolean cancelRequested() {
        return stop != null;
    }
}
