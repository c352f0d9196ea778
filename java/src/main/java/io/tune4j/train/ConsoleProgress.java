package io.tune4j.train;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows a run on stderr: a progress bar (step, loss, lr, tokens/s, ETA) on a terminal, plain log
 * lines every {@code logEvery} steps otherwise (a log file, a service).
 */
public final class ConsoleProgress implements TrainingListener {
    private final PrintStream err;
    private final boolean terminal;
    private ProgressBar bar;
    private int logEvery = 10;
    private int totalSteps;

    public ConsoleProgress() {
        this(System.err, System.console() != null);
    }

    public ConsoleProgress(PrintStream err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public void onStart(TrainConfig config, int startStep, int totalSteps) {
        this.logEvery = config.logEvery();
        this.totalSteps = totalSteps;
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(totalSteps)
                    .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(err))
                    .startsFrom(startStep, Duration.ZERO).build();
        } else {
            err.printf(Locale.ROOT, "training%s: steps %d..%d%n", startStep > 0 ? " (resumed)" : "", startStep + 1,
                    totalSteps);
        }
    }

    @Override
    public void onStep(StepMetrics m) {
        String msg = String.format(Locale.ROOT, "loss %.4f lr %.2e %.0f tok/s", m.loss(), m.lr(), m.tokensPerSecond());
        if (bar != null) {
            bar.stepTo(m.step());
            bar.setExtraMessage(msg);
        } else if (m.step() % logEvery == 0 || m.step() == totalSteps || m.step() == 1) {
            err.printf(Locale.ROOT, "step %d/%d epoch %.2f %s grad-norm %.3f elapsed %.1fs%n", m.step(), totalSteps,
                    m.epoch(), msg, m.gradNorm(), m.elapsedSeconds());
        }
    }

    @Override
    public void onEval(EvalResult r) {
        String line = String.format(Locale.ROOT, "step %d validation loss %.4f%s", r.step(), r.loss(),
                r.improved() ? " (best)" : "");
        if (bar != null) bar.setExtraMessage(line); else err.println(line);
    }

    @Override
    public void onCheckpoint(int step, Path dir) {
        if (bar == null) err.println("checkpoint " + dir);
    }

    @Override
    public void onFinish(TrainResult r) {
        if (bar != null) {
            bar.close();
            bar = null;
        }
        err.printf(Locale.ROOT, "training %s after %d steps, loss %.4f%s%n", r.status().name().toLowerCase(Locale.ROOT),
                r.steps(), r.lastLoss(), Double.isNaN(r.bestValLoss()) ? ""
                        : String.format(Locale.ROOT, ", best validation loss %.4f", r.bestValLoss()));
    }
}
