package io.tune4j.peft.dora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.cli.Main;
import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.ops.Ops;
import io.tune4j.ops.RopeScaling;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.Adapters;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.LoraBank;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.peft.Merger;
import io.tune4j.peft.Methods;
import io.tune4j.peft.PeftFiles;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Fixtures;
import io.tune4j.testing.GradientCheck;
import io.tune4j.testing.Rand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** DoRA end to end: step 0, gradient, PEFT's saved layout, load, merge, the shared-batch refusal and a CLI run. */
class DoraMethodTest {
    static List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    static final ObjectMapper JSON = new ObjectMapper();

    static LlamaConfig tiny(boolean tied, boolean bias) {
        return new LlamaConfig(37, 24, 40, 2, 4, 2, 6, 64, 1e-5f, RopeScaling.none(10000f), tied, 1, new int[] {2},
                "silu", bias, false);
    }

    /** B = 0 and m = ||W|| make DoRA a no-op; random B and a moved m exercise every path. */
    static void perturb(DoraMethod dora, Rand rnd) {
        for (DoraMethod.Site s : dora.sites()) {
            Parameter b = s.projection().loraB();
            b.value().floats().put(rnd.normal((int) b.numel(), 0.3));
            Tensor m = s.projection().magnitude().value();
            float[] v = m.toFloatArray();
            float[] d = rnd.normal(v.length, 0.2);
            for (int i = 0; i < v.length; i++) v[i] *= 1 + d[i];
            m.floats().put(v);
        }
    }

    static float[] logits(LlamaModel model, int[] tokens) {
        int V = model.config().vocabSize();
        int half = Math.max(1, tokens.length / 2);
        float[] out = new float[(tokens.length - half + 1) * V];
        try (InferenceContext c = model.newInferenceContext(1, 64, tokens.length)) {
            float[] l = model.step(c, new int[] {0}, new int[][] {Arrays.copyOf(tokens, half)}, new int[] {0}).toFloatArray();
            System.arraycopy(l, 0, out, 0, V);
            for (int i = half; i < tokens.length; i++) {
                l = model.step(c, new int[] {0}, new int[][] {{tokens[i]}}, new int[] {i}).toFloatArray();
                System.arraycopy(l, 0, out, (i - half + 1) * V, V);
            }
        }
        return out;
    }

    static double maxRelDiff(float[] a, float[] b) {
        double maxAbs = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs((double) a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return maxAbs / Math.max(scale, 1e-30);
    }

    static int[] tokens(Rand rnd, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rnd.nextInt(vocab);
        return t;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void stepZeroIsTheBaseModel(Ops ops) {
        Rand rnd = new Rand();
        try (LoadedModel m = LoadedModel.load(Fixtures.require("models/stories260K-hf"), null, ops)) {
            int[] toks = tokens(rnd, 12, 512);
            float[] base = logits(m.model(), toks);
            try (DoraMethod dora = new DoraMethod(new LoraConfig(4, 8f, 0.1f, PeftFiles.MODULES, false, 3L))) {
                dora.attach(m.model());
                // m = ||W|| per row, so m/||W|| is 1 up to rounding
                double rel = maxRelDiff(logits(m.model(), toks), base);
                assertTrue(rel <= 1e-5, "DoRA at step 0 vs base: " + rel);
            }
            assertArrayEquals(base, logits(m.model(), toks), "detached: the base projections are back");
        }
    }

    /** DoRA on Phi-3's fused qkv_proj and gate_up_proj: one magnitude per fused output row, as PEFT's. */
    @ParameterizedTest
    @MethodSource("backends")
    void gradientOnPhi3FusedProjectionsMatchesFiniteDifferences(Ops ops) throws Exception {
        Rand rnd = new Rand();
        LlamaConfig cfg = io.tune4j.model.io.LlamaConfigReader.parse(Path.of("phi3/config.json"),
                new com.fasterxml.jackson.databind.ObjectMapper().readTree("{\"model_type\": \"phi3\", \"vocab_size\": 41, "
                        + "\"hidden_size\": 24, \"intermediate_size\": 40, \"num_hidden_layers\": 2, "
                        + "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 64, "
                        + "\"sliding_window\": 5}"));
        try (Arena arena = new Arena()) {
            LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, rnd.seed, 0.3f, arena), ops);
            List<String> fused = List.of("qkv_proj", "o_proj", "gate_up_proj", "down_proj");
            try (DoraMethod dora = new DoraMethod(new LoraConfig(3, 6f, 0f, fused, false, rnd.seed))) {
                dora.attach(model);
                perturb(dora, rnd);
                List<Parameter> params = dora.trainableParameters();
                assertEquals(3 * fused.size() * cfg.numLayers(), params.size());
                assertTrue(params.stream().anyMatch(p -> p.name().equals(
                        "base_model.model.model.layers.1.self_attn.qkv_proj.lora_magnitude_vector")), params.toString());
                dora.holdNorms(true);
                GradientCheck.directional(model, params, dora::beforeForward, dora::afterBackward, true, rnd, 2, 9,
                        "DoRA on phi3 " + rnd);
                dora.holdNorms(false);
            }
            model.close();
        }
    }

    /**
     * The analytic gradient (A, B and m train) against central finite differences of the loss with
     * the norm held constant at the evaluation point, which is what a detached norm differentiates.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void gradientMatchesFiniteDifferencesWithTheNormDetached(Ops ops) {
        for (int variant = 0; variant < 2; variant++) {
            Rand rnd = new Rand();
            LlamaConfig cfg = tiny(variant == 0, variant == 1);
            try (Arena arena = new Arena()) {
                LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, rnd.seed, 0.3f, arena), ops);
                try (DoraMethod dora = new DoraMethod(new LoraConfig(3, 6f, 0f, PeftFiles.MODULES, variant == 1, rnd.seed))) {
                    dora.attach(model);
                    perturb(dora, rnd);
                    List<Parameter> params = dora.trainableParameters();
                    assertEquals(3 * PeftFiles.MODULES.size() * cfg.numLayers(), params.size());
                    for (Parameter p : model.parameters()) {
                        if (!params.contains(p)) assertFalse(p.trainable(), p + " should be frozen");
                    }
                    dora.holdNorms(true);
                    GradientCheck.directional(model, params, dora::beforeForward, dora::afterBackward, true, rnd, 2, 9,
                            "DoRA variant " + variant + " " + rnd);
                    dora.holdNorms(false);
                }
                model.close();
            }
        }
    }

    @Test
    void savesAsPeftLoadsBackAndMergesExactly(@TempDir Path tmp) throws Exception {
        Rand rnd = new Rand();
        Path dir = Fixtures.require("models/stories260K-hf");
        Path adapter = tmp.resolve("adapter"), merged = tmp.resolve("merged"), viaCli = tmp.resolve("cli");
        int[] toks = tokens(rnd, 12, 512);
        float[] tuned, base;
        List<String> targets = List.of("q_proj", "v_proj", "down_proj");
        try (LoadedModel m = LoadedModel.load(dir, null, CpuOps.INSTANCE)) {
            LlamaModel model = m.model();
            base = logits(model, toks);
            try (DoraMethod dora = new DoraMethod(new LoraConfig(4, 8f, 0f, targets, false, 5L))) {
                dora.baseModel(dir.toString()).attach(model);
                perturb(dora, rnd);
                dora.setTraining(false);
                tuned = logits(model, toks);
                assertTrue(maxRelDiff(tuned, base) > 1e-3, "the perturbed adapter changes the logits");
                Files.createDirectories(adapter);
                dora.save(adapter);
                Merger.merge(model, dora, m.checkpoint().path(), merged);
            }
            // PEFT's layout: LORA with use_dora, and a magnitude vector [out] per wrapped module
            JsonNode c = JSON.readTree(adapter.resolve(PeftFiles.CONFIG).toFile());
            assertEquals("LORA", c.get("peft_type").asText());
            assertTrue(c.get("use_dora").asBoolean());
            try (SafetensorsFile f = SafetensorsFile.open(adapter.resolve(PeftFiles.WEIGHTS))) {
                for (int l = 0; l < model.config().numLayers(); l++) {
                    for (String mod : targets) {
                        String k = PeftFiles.KEY_PREFIX + PeftFiles.modulePath(l, mod);
                        long out = model.layers().get(l).projection(mod).outFeatures();
                        assertArrayEquals(new long[] {out}, f.tensor(k + ".lora_magnitude_vector").shape(), k);
                        assertTrue(f.contains(k + ".lora_A.weight") && f.contains(k + ".lora_B.weight"), k);
                    }
                }
                assertEquals(3 * targets.size() * model.config().numLayers(), f.names().size());
            }
            Methods.Saved saved = Adapters.inspect(adapter);
            assertEquals("dora", saved.method().name());
            assertFalse(saved.sharesBatch(), "plain-LoRA rows would drop the magnitude: DoRA is served alone");
            assertTrue(saved.wrapsProjections());
            try (FineTuneMethod loaded = Adapters.load(adapter, model)) {
                assertTrue(loaded instanceof DoraMethod);
                assertArrayEquals(tuned, logits(model, toks), "save -> load reproduces the logits exactly");
                for (Parameter p : loaded.trainableParameters()) assertFalse(p.trainable());
            }
            assertArrayEquals(base, logits(model, toks));
            // neither plain LoRA nor the multi-LoRA bank may take it for plain LoRA
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoraMethod.load(adapter, model));
            assertTrue(e.getMessage().contains("use_dora"), e.getMessage());
            try (LoraBank bank = new LoraBank(model, 2)) {
                assertThrows(ModelFormatException.class, () -> bank.load("d", adapter));
            }
        }
        try (LoadedModel m = LoadedModel.load(merged, null, CpuOps.INSTANCE)) {
            double rel = maxRelDiff(logits(m.model(), toks), tuned);
            assertTrue(rel <= 1e-5, "merged vs base+DoRA: relative difference " + rel);
        }
        assertEquals(0, Main.run("merge", "--model", dir.toString(), "--adapter", adapter.toString(), "--out", viaCli.toString()));
        try (LoadedModel m = LoadedModel.load(viaCli, null, CpuOps.INSTANCE)) {
            double rel = maxRelDiff(logits(m.model(), toks), tuned);
            assertTrue(rel <= 1e-5, "CLI merge: relative difference " + rel);
        }
    }

    @Test
    void aBrokenSavedAdapterNamesTheFileAndField(@TempDir Path tmp) throws Exception {
        Path dir = Fixtures.require("models/stories260K-hf");
        Path adapter = tmp.resolve("a");
        try (LoadedModel m = LoadedModel.load(dir, null, CpuOps.INSTANCE)) {
            try (DoraMethod dora = new DoraMethod(new LoraConfig(2, 4f, 0f, List.of("q_proj"), false, 1L))) {
                dora.attach(m.model());
                Files.createDirectories(adapter);
                dora.save(adapter);
            }
            Path cfg = adapter.resolve(PeftFiles.CONFIG);
            String good = Files.readString(cfg);
            Files.writeString(cfg, good.replaceFirst("\"modules_to_save\"\\s*:\\s*null", "\"modules_to_save\": [\"norm\"]"));
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Adapters.load(adapter, m.model()));
            assertTrue(e.getMessage().contains(PeftFiles.CONFIG) && e.getMessage().contains("modules_to_save"), e.getMessage());
            Files.writeString(cfg, good);
            // a magnitude of the wrong length names the tensor
            try (Arena arena = new Arena(); SafetensorsFile f = SafetensorsFile.open(adapter.resolve(PeftFiles.WEIGHTS))) {
                io.tune4j.model.io.SafetensorsWriter w = new io.tune4j.model.io.SafetensorsWriter();
                for (String k : f.names()) {
                    w.add(k, k.endsWith("lora_magnitude_vector") ? arena.adopt(Tensor.zeros(3)) : f.tensor(k));
                }
                w.write(tmp.resolve("b.safetensors"));
            }
            Files.move(tmp.resolve("b.safetensors"), adapter.resolve(PeftFiles.WEIGHTS), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            e = assertThrows(ModelFormatException.class, () -> Adapters.load(adapter, m.model()));
            assertTrue(e.getMessage().contains("lora_magnitude_vector"), e.getMessage());
        }
    }

    @Test
    void finetuneFromTheCliLowersTheLoss(@TempDir Path tmp) throws Exception {
        String model = Fixtures.require("models/stories260K-hf").toString();
        String data = Fixtures.require("data/tinystories/TinyStories-valid-excerpt.txt").toString();
        Path out = tmp.resolve("run");
        assertEquals(0, Main.run("finetune", "--model", model, "--data", data, "--val-split", "0.1", "--text-mode",
                "whole-file", "--method", "dora", "--lora-r", "4", "--target-modules", "q_proj,v_proj,o_proj,down_proj",
                "--max-steps", "20", "--batch-size", "4", "--seq-len", "64", "--lr", "3e-3", "--eval-every", "0",
                "--out", out.toString()));
        JsonNode eval = JSON.readTree(out.resolve("eval.json").toFile());
        double before = eval.get("before").get("loss").asDouble(), after = eval.get("after").get("loss").asDouble();
        assertTrue(after < before, "validation loss " + before + " -> " + after + "; training: "
                + Files.readString(out.resolve("metrics.jsonl")));
        assertEquals("dora", Adapters.inspect(out.resolve("adapter")).method().name());
        String runYaml = Files.readString(out.resolve("run.yaml"));
        assertTrue(runYaml.contains("type: dora") && runYaml.contains("r: 4"), runYaml);
        // a setting DoRA does not have is refused before training, naming the flag
        assertEquals(2, Main.run("finetune", "--model", model, "--data", data, "--method", "dora", "--bottleneck", "8",
                "--out", tmp.resolve("bad").toString()));
        assertFalse(Files.exists(tmp.resolve("bad").resolve("metrics.jsonl")));
    }
}
