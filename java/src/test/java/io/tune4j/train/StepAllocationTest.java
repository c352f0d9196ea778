package io.tune4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.LlamaModel;
import io.tune4j.model.io.CheckpointLoader;
import io.tune4j.model.io.LlamaCheckpoint;
import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.AdapterConfig;
import io.tune4j.peft.AdapterMethod;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.FullMethod;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.peft.PeftFiles;
import io.tune4j.peft.PrefixConfig;
import io.tune4j.peft.PrefixMethod;
import io.tune4j.peft.dora.DoraMethod;
import io.tune4j.runtime.NativeMemory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The whole training loop allocates nothing once its first step has sized every buffer: from the end
 * of step 1 on, neither the backend nor the host allocator hands out memory (counted through
 * {@link Ops#allocations} and {@link NativeMemory#allocations}), for every fine-tuning method.
 */
class StepAllocationTest {
    static Stream<Arguments> methods() {
        return Stream.of(
                Arguments.of("lora", (Supplier<FineTuneMethod>) () ->
                        new LoraMethod(new LoraConfig(4, 8f, 0.1f, PeftFiles.MODULES, false, 3L)), false),
                Arguments.of("lora, gradient checkpointing", (Supplier<FineTuneMethod>) () ->
                        new LoraMethod(new LoraConfig(4, 8f, 0f, PeftFiles.MODULES, false, 3L)), true),
                Arguments.of("dora", (Supplier<FineTuneMethod>) () ->
                        new DoraMethod(new LoraConfig(4, 8f, 0.1f, LoraConfig.ATTENTION, false, 3L)), false),
                Arguments.of("adapter", (Supplier<FineTuneMethod>) () -> new AdapterMethod(AdapterConfig.defaults()), false),
                Arguments.of("prefix with projection", (Supplier<FineTuneMethod>) () ->
                        new PrefixMethod(new PrefixConfig(4, true, 16, 1L)), false),
                Arguments.of("full", (Supplier<FineTuneMethod>) () -> new FullMethod(null), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void stepsAfterTheFirstAllocateNothing(String name, Supplier<FineTuneMethod> method, boolean checkpointing,
                                           @TempDir Path out) throws Exception {
        TrainerTest.tokenize();
        Ops ops = CpuOps.INSTANCE;
        long before;
        List<long[]> counts = new ArrayList<>(); // after each step: backend allocations, host allocations
        TrainConfig cfg = TrainerTest.config().maxSteps(6).evalEvery(TrainConfig.EVAL_AT_END).checkpointEvery(0)
                .gradientCheckpointing(checkpointing).build();
        try (LlamaCheckpoint ckpt = CheckpointLoader.load(TrainerTest.modelDir);
             LlamaModel model = LlamaModel.fromWeights(ckpt.config(), ckpt.weights(), ops);
             FineTuneMethod m = method.get()) {
            before = ops.allocations();
            Trainer.builder().model(model).method(m)
                    .train(new InMemoryBatchSource(TrainerTest.trainTokens, 4, TrainerTest.SEQ, 7))
                    .config(cfg).outputDir(out).progress(false)
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics s) {
                            counts.add(new long[] {ops.allocations(), NativeMemory.allocations()});
                        }
                    })
                    .build().run();
        }
        assertEquals(6, counts.size(), name + ": steps run");
        assertTrue(counts.get(0)[0] > before, name + ": the step buffers, PEFT state and moments come from the backend");
        for (int s = 1; s < counts.size(); s++) {
            assertEquals(counts.get(0)[0], counts.get(s)[0], name + ": backend allocations by the end of step " + (s + 1));
            assertEquals(counts.get(0)[1], counts.get(s)[1], name + ": host allocations by the end of step " + (s + 1));
        }
    }
}
