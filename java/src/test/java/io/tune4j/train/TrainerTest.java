package io.tune4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.LlamaModel;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.io.CheckpointLoader;
import io.tune4j.model.io.LlamaCheckpoint;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop on stories260K with every parameter trainable, over TinyStories text. */
class TrainerTest {
    static final int SEQ = 64;
    static Path modelDir;
    static int[] trainTokens;
    static int[] valTokens;

    @BeforeAll
    static void tokenize() throws IOException {
        modelDir = Fixtures.require("models/stories260K-hf");
        String text = Files.readString(Fixtures.require("data/tinystories/TinyStories-valid-excerpt.txt"));
        try (LoadedModel m = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
            int[] all = m.tokenizer().encode(text, true);
            int cut = all.length * 85 / 100;
            trainTokens = Arrays.copyOfRange(all, 0, cut);
            valTokens = Arrays.copyOfRange(all, cut, all.length);
        }
    }

    static TrainConfig.Builder config() {
        return TrainConfig.builder().lr(3e-4).warmupSteps(2).schedule(TrainConfig.Schedule.COSINE).maxSteps(20)
                .weightDecay(0.01).maxGradNorm(1.0).seed(7).threads(2);
    }

    /** A finished run: its result, metrics and final parameter values. */
    record Run(TrainResult result, List<StepMetrics> metrics, float[][] params) {
        double[] losses() {
            return metrics.stream().mapToDouble(StepMetrics::loss).toArray();
        }
    }

    static Run run(TrainConfig cfg, Path out, int batch, Consumer<Trainer.Builder> extra) {
        // the checkpoint alone: the tokenizer is needed only once, in tokenize()
        try (LlamaCheckpoint ckpt = CheckpointLoader.load(modelDir);
             LlamaModel model = LlamaModel.fromWeights(ckpt.config(), ckpt.weights(), CpuOps.INSTANCE);
             FullFineTune method = new FullFineTune()) {
            Trainer.Builder b = Trainer.builder().model(model).method(method)
                    .train(new InMemoryBatchSource(trainTokens, batch, SEQ, cfg.seed()))
                    .validation(new InMemoryBatchSource(valTokens, 4, SEQ, 0))
                    .config(cfg).outputDir(out).progress(false);
            extra.accept(b);
            TrainResult r = b.build().run();
            List<Parameter> ps = model.parameters();
            float[][] values = new float[ps.size()][];
            for (int i = 0; i < ps.size(); i++) values[i] = ps.get(i).value().toFloatArray();
            return new Run(r, MetricsLog.read(out.resolve("metrics.jsonl")), values);
        }
    }

    static Run run(TrainConfig cfg, Path out) {
        return run(cfg, out, 4, b -> {});
    }

    /** What must repeat exactly: everything but the timings. */
    static List<List<Object>> curve(List<StepMetrics> ms) {
        return ms.stream().map(m -> List.<Object>of(m.step(), m.epoch(), m.loss(), m.lr(), m.gradNorm(),
                m.valLoss() == null ? "none" : m.valLoss())).toList();
    }

    static double mean(double[] a, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += a[i];
        return s / (to - from);
    }

    @Test
    void lossDropsAndOutputsAreWritten(@TempDir Path out) throws IOException {
        TrainConfig cfg = config().evalEvery(5).build();
        List<StepMetrics> seen = new ArrayList<>();
        List<EvalResult> evals = new ArrayList<>();
        Run r = run(cfg, out, 8, b -> b.listener(new TrainingListener() {
            @Override
            public void onStep(StepMetrics m) {
                seen.add(m);
            }

            @Override
            public void onEval(EvalResult e) {
                evals.add(e);
            }
        }));
        assertEquals(TrainResult.Status.COMPLETED, r.result().status());
        assertEquals(20, r.result().steps());
        double[] loss = r.losses();
        assertEquals(20, loss.length);
        assertTrue(mean(loss, 15, 20) < mean(loss, 0, 5) - 0.03, "training loss did not drop: " + Arrays.toString(loss));
        assertEquals(4, evals.size());
        assertTrue(evals.get(3).loss() < evals.get(0).loss() - 0.01, "validation loss did not drop: " + evals);
        assertEquals(evals.get(3).loss(), r.result().bestValLoss());

        // metrics.jsonl: one record per step, the same the listener saw
        assertEquals(seen, r.metrics());
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(20, lines.size());
        assertTrue(lines.get(4).contains("\"valLoss\""), lines.get(4));
        assertFalse(lines.get(3).contains("valLoss"), lines.get(3));
        StepMetrics last = r.metrics().get(19);
        assertTrue(last.tokensPerSecond() > 0 && last.elapsedSeconds() > 0 && last.gradNorm() > 0);
        assertEquals(20.0 / new InMemoryBatchSource(trainTokens, 8, SEQ, 7).batchesPerEpoch(), last.epoch(), 1e-9);
        assertEquals(0.0, last.lr(), 3e-4 * 0.01); // cosine near its end

        BufferedImage png = ImageIO.read(out.resolve("loss.png").toFile());
        assertNotNull(png);
        assertEquals(LossPlot.WIDTH, png.getWidth());
        assertEquals(LossPlot.HEIGHT, png.getHeight());
        assertEquals(cfg, TrainConfig.load(out.resolve("config.yaml")));
        assertTrue(Files.size(out.resolve("final/model.safetensors")) > 200_000);
    }

    @Test
    void sameSeedAndThreadsGiveTheSameLossCurve(@TempDir Path out) {
        TrainConfig cfg = config().maxSteps(8).build();
        double[] a = run(cfg, out.resolve("a")).losses();
        double[] b = run(cfg, out.resolve("b")).losses();
        assertArrayEquals(a, b);
        double[] c = run(cfg.toBuilder().seed(8).build(), out.resolve("c")).losses();
        assertFalse(Arrays.equals(a, c), "another seed (data order) should change the curve");
    }

    @Test
    void bf16MatmulsFollowTheFp32CurveAndRepeat(@TempDir Path out) {
        org.junit.jupiter.api.Assumptions.assumeTrue(CpuOps.bf16Supported(),
                "bf16 training test skipped: this CPU has no AMX-BF16");
        TrainConfig fp32 = config().maxSteps(12).build();
        TrainConfig bf16 = fp32.toBuilder().precision(io.tune4j.ops.MatmulPrecision.BF16).build();
        double[] a = run(fp32, out.resolve("fp32")).losses();
        double[] b = run(bf16, out.resolve("bf16")).losses();
        double[] c = run(bf16, out.resolve("bf16-again")).losses();
        assertArrayEquals(b, c, "bf16 runs with one seed and thread count repeat exactly");
        assertFalse(Arrays.equals(a, b), "bf16 products should round differently from fp32");
        for (int i = 0; i < a.length; i++) {
            assertTrue(Math.abs(a[i] - b[i]) <= 0.02 * a[i], "step " + (i + 1) + ": fp32 " + a[i] + " vs bf16 " + b[i]);
        }
        assertEquals(io.tune4j.ops.MatmulPrecision.FP32, CpuOps.INSTANCE.matmulPrecision(),
                "the trainer gives the thread back its precision");
    }

    @Test
    void resumeContinuesBitForBit(@TempDir Path out) {
        TrainConfig cfg = config().maxSteps(10).checkpointEvery(5).gradientCheckpointing(true).build();
        Run straight = run(cfg, out.resolve("straight"));

        Path split = out.resolve("split");
        Run first = run(cfg, split, 4, b -> b.listener(new TrainingListener() {
            int steps;

            @Override
            public void onStep(StepMetrics m) {
                steps = m.step();
            }

            @Override
            public boolean cancelRequested() {
                return steps == 5;
            }
        }));
        assertEquals(TrainResult.Status.CANCELLED, first.result().status());
        assertEquals(5, first.result().steps());
        assertNull(first.result().finalDir());
        assertTrue(Files.isDirectory(split.resolve("checkpoints/step-5")));

        Run second = run(cfg, split, 4, Trainer.Builder::resumeLatest);
        assertEquals(TrainResult.Status.COMPLETED, second.result().status());
        assertEquals(10, second.result().steps());
        assertArrayEquals(straight.losses(), second.losses());
        assertEquals(curve(straight.metrics()), curve(second.metrics()));
        for (int i = 0; i < straight.params().length; i++) assertArrayEquals(straight.params()[i], second.params()[i]);
        assertEquals(List.of(split.resolve("checkpoints/step-5"), split.resolve("checkpoints/step-10")),
                new CheckpointStore(split.resolve("checkpoints"), 0, null).list());
    }

    @Test
    void failedCheckpointLeavesThePreviousOneIntact(@TempDir Path out) throws IOException {
        TrainConfig cfg = config().maxSteps(10).checkpointEvery(5).keepCheckpoints(1).build();
        List<StepMetrics> seen = new ArrayList<>();
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> run(cfg, out, 4, b -> b
                .listener(new TrainingListener() {
                    @Override
                    public void onStep(StepMetrics m) {
                        seen.add(m);
                    }
                })
                .checkpointWriteHook(file -> {
                    // the disk fills up half-way through the second checkpoint
                    if (file.getParent().getFileName().toString().contains("step-10")
                            && file.getFileName().toString().equals(CheckpointStore.OPTIMIZER)) {
                        throw new IOException("No space left on device");
                    }
                })));
        assertTrue(e.getMessage().contains("step-10") && e.getMessage().contains("No space left"), e.getMessage());
        Path ckpts = out.resolve("checkpoints");
        try (Stream<Path> s = Files.list(ckpts)) {
            assertEquals(List.of(ckpts.resolve("step-5")), s.toList(), "no partial or temporary directory may remain");
        }
        CheckpointStore.Checkpoint c = CheckpointStore.read(ckpts.resolve("step-5"));
        assertEquals(5, c.state().step());
        assertEquals(seen.subList(0, 5), c.metrics());
        assertEquals(10, seen.size());

        Run resumed = run(cfg, out, 4, b -> b.resumeFrom(ckpts.resolve("step-5")));
        assertEquals(10, resumed.result().steps());
        assertEquals(curve(seen), curve(resumed.metrics()), "the resumed run repeats steps 6-10 exactly");
        assertEquals(List.of(ckpts.resolve("step-10")), new CheckpointStore(ckpts, 0, null).list());
    }

    @Test
    void earlyStoppingWhenValidationStopsImproving(@TempDir Path out) {
        // lr 0: the validation loss stays exactly the same, so no pass after the first improves
        TrainConfig cfg = config().lr(0).warmupSteps(0).schedule(TrainConfig.Schedule.CONSTANT).weightDecay(0)
                .evalEvery(2).earlyStoppingPatience(2).build();
        Run r = run(cfg, out);
        assertEquals(TrainResult.Status.EARLY_STOPPED, r.result().status());
        assertEquals(6, r.result().steps());
        assertNotNull(r.result().finalDir());
        List<Double> val = r.metrics().stream().map(StepMetrics::valLoss).filter(v -> v != null).toList();
        assertEquals(3, val.size());
        assertEquals(val.get(0), val.get(2));
    }

    @Test
    void gradientAccumulationMatchesOneLargeBatch(@TempDir Path out) {
        // eps 1e-6 rather than 1e-8: Adam's first steps move a parameter by about lr·g/|g|, which
        // for a gradient near zero turns rounding noise of 1e-10 into a visible difference
        TrainConfig cfg = config().lr(1e-3).eps(1e-6).maxSteps(3).build();
        Run big = run(cfg.toBuilder().gradAccumSteps(1).build(), out.resolve("4x1"), 4, b -> {});
        Run accumulated = run(cfg.toBuilder().gradAccumSteps(2).build(), out.resolve("2x2"), 2, b -> {});
        for (int s = 0; s < 3; s++) {
            StepMetrics x = big.metrics().get(s), y = accumulated.metrics().get(s);
            assertEquals(x.loss(), y.loss(), 1e-5 * x.loss(), "loss of step " + (s + 1));
            assertEquals(x.gradNorm(), y.gradNorm(), 1e-5 * x.gradNorm(), "grad norm of step " + (s + 1));
        }
        for (int i = 0; i < big.params().length; i++) assertArrayEquals(big.params()[i], accumulated.params()[i], 1e-5f);
    }
}
