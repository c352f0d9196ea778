package io.tune4j.train;

import io.tune4j.model.LlamaModel;
import io.tune4j.model.io.CheckpointLoader;
import io.tune4j.model.io.LlamaCheckpoint;
import io.tune4j.ops.cpu.CpuOps;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The process {@link KilledTrainingResumesTest} kills: full fine-tuning with a checkpoint after
 * every step, continuing from the newest checkpoint in the output directory when there is one.
 * It reports on stdout {@code start S} (the step it resumed from) and {@code checkpoint N} once
 * step-N is published, so that the test knows what a kill may not lose.
 *
 * <p>Arguments: model directory, token file (two lines of space-separated ids: training,
 * validation), output directory. The data comes tokenised so that a start costs no tokenizer.
 */
final class ResumableTrainingMain {
    // enough that the first, random kill (up to 1.5 s in) leaves steps for the other seven moments
    static final int STEPS = 32;
    static final int SEQ = 32;

    private ResumableTrainingMain() {}

    static TrainConfig config() {
        // one thread: runs repeat bit for bit only at one thread count
        return TrainConfig.builder().lr(1e-3).warmupSteps(2).schedule(TrainConfig.Schedule.COSINE).maxSteps(STEPS)
                .weightDecay(0.01).maxGradNorm(1.0).seed(11).threads(1)
                .checkpointEvery(1).keepCheckpoints(2).evalEvery(4).evalBatches(2).build();
    }

    public static void main(String[] args) throws IOException {
        TrainResult r = run(Path.of(args[0]), Path.of(args[1]), Path.of(args[2]), System.out);
        System.out.println("done " + r.status() + " " + r.steps());
    }

    static TrainResult run(Path modelDir, Path tokenFile, Path out, PrintStream report) throws IOException {
        List<String> lines = Files.readAllLines(tokenFile);
        int[] train = ids(lines.get(0)), validation = ids(lines.get(1));
        TrainConfig cfg = config();
        try (LlamaCheckpoint ckpt = CheckpointLoader.load(modelDir);
             LlamaModel model = LlamaModel.fromWeights(ckpt.config(), ckpt.weights(), CpuOps.INSTANCE);
             FullFineTune method = new FullFineTune()) {
            return Trainer.builder().model(model).method(method)
                    .train(new InMemoryBatchSource(train, 2, SEQ, cfg.seed()))
                    .validation(new InMemoryBatchSource(validation, 2, SEQ, 0))
                    .config(cfg).outputDir(out).progress(false).resumeLatest()
                    .listener(new TrainingListener() {
                        @Override
                        public void onStart(TrainConfig config, int startStep, int totalSteps) {
                            report.println("start " + startStep);
                        }

                        @Override
                        public void onCheckpoint(int step, Path dir) {
                            report.println("checkpoint " + step);
                        }
                    })
                    .build().run();
        }
    }

    static String line(int[] ids) {
        StringBuilder b = new StringBuilder();
        for (int id : ids) b.append(id).append(' ');
        return b.toString().strip();
    }

    private static int[] ids(String line) {
        return Arrays.stream(line.trim().split(" +")).mapToInt(Integer::parseInt).toArray();
    }
}
