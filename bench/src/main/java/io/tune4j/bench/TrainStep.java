package io.tune4j.bench;

import io.tune4j.data.TokenizedExample;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.TrainingContext;
import io.tune4j.ops.RopeScaling;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.FullMethod;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.train.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One optimiser step of a SmolLM2-135M-shaped model (or another shape: Qwen2.5-0.5B) with random
 * weights on a 4x256 batch, tune4j
 * and libtorch doing the same math. Each side also records its process's peak resident memory,
 * which BenchMain compares between LoRA and full fine-tuning.
 */
final class TrainStep {
    static final List<String> ALL_MODULES = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
            "down_proj");
    static final float LR = 1e-4f;

    private TrainStep() {}

    static LlamaConfig smolLm2() {
        return new LlamaConfig(Env.VOCAB, Env.HIDDEN, Env.INTERMEDIATE, 30, Env.HEADS, Env.KV_HEADS, Env.HEAD_DIM,
                Env.MAX_POSITIONS, Env.EPS, RopeScaling.none(Env.ROPE_THETA), true, 1, new int[] {2}, "silu", false,
                false);
    }

    static int[] ids() {
        return ids(Env.VOCAB);
    }

    static int[] ids(int vocab) {
        return Env.ints(11, Env.ROWS, vocab);
    }

    /** Next-token targets within each sequence; the last position of a sequence has none. */
    static int[] targets(int[] ids) {
        int[] t = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            t[i] = (i % Env.SEQ == Env.SEQ - 1) ? TokenizedExample.IGNORE : ids[i + 1];
        }
        return t;
    }

    /** Peak resident set size of this process (VmHWM), in bytes. */
    static long peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    static void recordPeakRss(String name) {
        Path dir = Path.of(System.getProperty("bench.memDir", "target/mem"));
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name + ".txt"), Long.toString(peakRss()));
        } catch (IOException e) {
            System.err.println("cannot record peak memory: " + e);
        }
    }

    /** tune4j: the product's own path (FineTuneMethod + LlamaModel.forwardBackward + AdamW). */
    static final class Ours implements AutoCloseable {
        final Arena arena = new Arena();
        final LlamaModel model;
        final FineTuneMethod method;
        final AdamW optimizer;
        final TrainingContext ctx;

        Ours(boolean lora) {
            this(smolLm2(), lora);
        }

        /** The same step on another model's shape (random weights, std 0.02). */
        Ours(LlamaConfig cfg, boolean lora) {
            NativeLib.t4j_set_num_threads(Env.threads());
            CpuOps.INSTANCE.setMatmulPrecision(Env.precision());
            Map<String, Tensor> w = RandomWeights.create(cfg, 5, 0.02f, arena);
            model = LlamaModel.fromWeights(cfg, w, CpuOps.INSTANCE);
            method = lora ? new LoraMethod(new LoraConfig(Env.LORA_RANK, 32f, 0f, ALL_MODULES, false, 3))
                    : new FullMethod(null);
            method.attach(model);
            optimizer = new AdamW(CpuOps.INSTANCE, method.trainableParameters(), 0.9f, 0.999f, 1e-8f, 0f, p -> false);
            ctx = model.newTrainingContext(Env.BATCH, Env.SEQ);
            int[] ids = ids(cfg.vocabSize());
            ctx.setBatch(ids, targets(ids), null, null);
        }

        double step() {
            method.beforeForward();
            LlamaModel.Loss loss = model.forwardBackward(ctx, 0f);
            method.afterBackward();
            optimizer.step(LR);
            optimizer.zeroGrad();
            return loss.mean();
        }

        @Override
        public void close() {
            ctx.close();
            optimizer.close();
            method.close();
            model.close();
            arena.close();
        }
    }

    /** libtorch: the same model, batch and optimiser under autograd. */
    static final class Theirs implements AutoCloseable {
        final Arena arena = new Arena();
        final TorchTrainer trainer;
        final org.bytedeco.pytorch.Tensor ids, targets;

        Theirs(boolean lora) {
            this(smolLm2(), lora);
        }

        Theirs(LlamaConfig cfg, boolean lora) {
            Libtorch.setThreads(Env.threads());
            Map<String, Tensor> w = RandomWeights.create(cfg, 5, 0.02f, arena);
            trainer = new TorchTrainer(cfg, w, lora, Env.LORA_RANK, 32f, Env.BATCH, Env.SEQ);
            arena.close(); // libtorch holds its own copies
            int[] i = TrainStep.ids(cfg.vocabSize());
            ids = Libtorch.longs(i, Env.BATCH, Env.SEQ);
            targets = Libtorch.longs(TrainStep.targets(i), Env.ROWS);
        }

        double step() {
            return trainer.step(ids, targets);
        }

        @Override
        public void close() {
            trainer.close();
            ids.close();
            targets.close();
        }
    }
}
