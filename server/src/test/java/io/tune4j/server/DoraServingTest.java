package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.tune4j.generate.GenerationConfig;
import io.tune4j.generate.GenerationResult;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.Parameter;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.Merger;
import io.tune4j.peft.MethodOptions;
import io.tune4j.peft.Methods;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DoRA adapter (found through the method registry) served next to a plain LoRA adapter and the
 * base model: it runs alone, outside the shared multi-LoRA batch, and decodes exactly the text of
 * the model it merges into, so the magnitude is applied while serving.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DoraServingTest {
    static final String[] PROMPTS = {"Once upon a time", "The sun", "Tom had a big red ball"};

    /** A saved method with random B (and, for DoRA, a moved magnitude), so that it changes the text. */
    static void save(LoadedModel m, String method, Map<String, Object> settings, long seed, Path dir, Path mergedInto) {
        FineTuneMethod f = Methods.byName(method).create(MethodOptions.of(Methods.byName(method), settings), null, seed);
        f.attach(m.model());
        SplittableRandom rng = new SplittableRandom(seed);
        for (Parameter p : f.trainableParameters()) {
            FloatBuffer fb = p.value().floats();
            if (p.name().endsWith("lora_B.weight")) {
                for (int i = 0; i < fb.capacity(); i++) fb.put(i, (float) (rng.nextDouble() - 0.5));
            } else if (p.name().endsWith("lora_magnitude_vector")) {
                for (int i = 0; i < fb.capacity(); i++) fb.put(i, fb.get(i) * (float) (0.5 + rng.nextDouble()));
            }
        }
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        f.save(dir);
        if (mergedInto != null) Merger.merge(m.model(), f, m.checkpoint().path(), mergedInto);
        f.close();
    }

    static List<String> serve(LoadedModel m, String[] models, Path[] adapters, boolean together) throws Exception {
        try (Scheduler s = new Scheduler(m.model(), m.tokenizer(), 4, 256, 16, new Metrics())) {
            for (Path a : adapters) if (a != null) s.load(a.getFileName().toString(), a).get(30, TimeUnit.SECONDS);
            s.stepPauseMillis = together ? 2 : 0;
            List<String> out = new ArrayList<>();
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (int i = 0; i < models.length; i++) {
                CompletableFuture<GenerationResult> f = new CompletableFuture<>();
                String prompt = PROMPTS[i % PROMPTS.length];
                Scheduler.Job job = new Scheduler.Job(models[i], adapters[i], t -> t.encode(prompt, true),
                        GenerationConfig.greedy(30), new Scheduler.Sink() {
                            @Override
                            public void onDelta(String text) {}

                            @Override
                            public void onDone(GenerationResult r) {
                                f.complete(r);
                            }

                            @Override
                            public void onError(RuntimeException e) {
                                f.completeExceptionally(e);
                            }
                        }, TimeUnit.SECONDS.toNanos(60));
                if (!s.trySubmit(job)) throw new AssertionError("not accepted");
                fs.add(f);
                if (!together) out.add(f.get(60, TimeUnit.SECONDS).text());
            }
            if (together) for (CompletableFuture<GenerationResult> f : fs) out.add(f.get(60, TimeUnit.SECONDS).text());
            return out;
        }
    }

    @Test
    void doraIsServedAloneAndDecodesItsMergedModel(@TempDir Path tmp) throws Exception {
        Path modelDir = TestModel.require("models/stories260K-hf");
        Path dora = tmp.resolve("dora"), lora = tmp.resolve("lora"), merged = tmp.resolve("merged");
        try (LoadedModel m = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
            save(m, "dora", Map.of("r", 4, "dropout", 0f, "targetModules", List.of("q_proj", "v_proj", "down_proj")), 3, dora,
                    merged);
            save(m, "lora", Map.of("r", 4, "dropout", 0f, "targetModules", LoraConfig.ATTENTION), 4, lora, null);
            String[] names = {"dora", "stories260K-hf", "lora", "dora"};
            Path[] dirs = {dora, null, lora, dora};
            List<String> alone = serve(m, names, dirs, false);
            List<String> together = serve(m, names, dirs, true);
            assertEquals(alone, together, "requests in flight together decode as they do alone");
            assertNotEquals(alone.get(0), serve(m, new String[] {"stories260K-hf"}, new Path[] {null}, false).get(0),
                    "the DoRA adapter changes the text");
        }
        try (LoadedModel mm = LoadedModel.load(merged, null, CpuOps.INSTANCE)) {
            String mergedText = serve(mm, new String[] {"merged"}, new Path[] {null}, false).get(0);
            try (LoadedModel m = LoadedModel.load(modelDir, null, CpuOps.INSTANCE)) {
                assertEquals(mergedText, serve(m, new String[] {"dora"}, new Path[] {dora}, false).get(0),
                        "the served DoRA adapter decodes what its merged model decodes");
            }
        }
    }
}
