package io.tune4j.peft;

import static io.tune4j.peft.PeftTesting.logits;
import static io.tune4j.peft.PeftTesting.maxRelDiff;
import static io.tune4j.peft.PeftTesting.tiny;
import static io.tune4j.peft.PeftTesting.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.TrainingContext;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.testing.Fixtures;
import io.tune4j.testing.Rand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class LoraMethodTest {
    static List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    static LoraConfig all(int r, float dropout, boolean rs) {
        return new LoraConfig(r, 8f, dropout, PeftFiles.MODULES, rs, 7L);
    }

    /** B starts at zero (so A gets no gradient); a random B exercises every path. */
    static void randomize(Parameter p, Rand rnd, double std) {
        p.value().floats().put(rnd.normal((int) p.numel(), std));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void stepZeroEqualsBaseModel(Ops ops) {
        Rand rnd = new Rand();
        Path dir = Fixtures.require("models/stories260K-hf");
        try (LoadedModel m = LoadedModel.load(dir, null, ops)) {
            LlamaModel model = m.model();
            int[] toks = tokens(rnd, 12, 512);
            float[] base = logits(model, toks);
            double baseLoss;
            try (TrainingContext c = model.newTrainingContext(2, 6)) {
                c.setBatch(toks, toks, null, null);
                baseLoss = model.forward(c).mean();
                try (LoraMethod lora = new LoraMethod(all(4, 0.1f, false))) {
                    lora.attach(model);
                    assertArrayEquals(base, logits(model, toks), "LoRA with B = 0 must not change the logits");
                    lora.beforeForward();
                    assertEquals(baseLoss, model.forward(c).mean(), 0.0, "training path with dropout, B = 0");
                }
                // detached: the base projections are back
                assertArrayEquals(base, logits(model, toks));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gradientMatchesFiniteDifferences(Ops ops) {
        for (int variant = 0; variant < 3; variant++) {
            Rand rnd = new Rand();
            boolean bias = variant == 1;
            LlamaConfig cfg = tiny(variant != 1, bias);
            float dropout = variant == 2 ? 0.25f : 0f;
            try (Arena arena = new Arena()) {
                Map<String, io.tune4j.tensor.Tensor> w = RandomWeights.create(cfg, rnd.seed, 0.3f, arena);
                LlamaModel model = LlamaModel.fromWeights(cfg, w, ops);
                try (LoraMethod lora = new LoraMethod(new LoraConfig(3, 6f, dropout, PeftFiles.MODULES, variant == 1, rnd.seed))) {
                    lora.attach(model);
                    for (LoraMethod.Site s : lora.sites()) randomize(s.projection().loraB(), rnd, 0.3);
                    // with dropout the mask must stay fixed across the evaluations: the step does not advance
                    PeftTesting.checkGradient(model, lora, rnd, 2, 9, dropout == 0f,
                            "LoRA variant " + variant + " " + rnd);
                }
                model.close();
            }
        }
    }

    /** LoRA with PEFT's modules_to_save: the RMSNorm copies train along with A and B. */
    @ParameterizedTest
    @MethodSource("backends")
    void gradientWithModulesToSaveMatchesFiniteDifferences(Ops ops) {
        for (int variant = 0; variant < 2; variant++) {
            Rand rnd = new Rand();
            LlamaConfig cfg = tiny(variant == 0, false);
            List<String> saved = variant == 0 ? List.of("norm") : List.of("post_attention_layernorm", "model.norm");
            try (Arena arena = new Arena()) {
                LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, rnd.seed, 0.3f, arena), ops);
                try (LoraMethod lora = new LoraMethod(new LoraConfig(3, 6f, 0f, LoraConfig.ATTENTION, false, rnd.seed, saved))) {
                    lora.attach(model);
                    for (LoraMethod.Site s : lora.sites()) randomize(s.projection().loraB(), rnd, 0.3);
                    for (Parameter p : lora.savedModuleParameters()) {
                        float[] v = p.value().toFloatArray();
                        float[] d = rnd.normal(v.length, 0.2);
                        for (int i = 0; i < v.length; i++) v[i] += d[i];
                        p.value().floats().put(v);
                    }
                    assertEquals(variant == 0 ? 2 * cfg.numLayers() + 1 : cfg.numLayers() + 1,
                            lora.savedModuleParameters().size());
                    PeftTesting.checkGradient(model, lora, rnd, 2, 9, true, "LoRA + modules_to_save " + saved + " " + rnd);
                }
                model.close();
            }
        }
    }

    @Test
    void modulesToSaveSelectModulesAsPeftDoes() {
        assertEquals(List.of("model.layers.0.input_layernorm", "model.layers.0.post_attention_layernorm",
                "model.layers.1.input_layernorm", "model.layers.1.post_attention_layernorm", "model.norm"),
                SavedModules.resolve(List.of("norm"), 2));
        assertEquals(List.of("model.layers.0.input_layernorm", "model.layers.1.input_layernorm"),
                SavedModules.resolve(List.of("input_layernorm"), 2));
        assertEquals(List.of("model.layers.1.post_attention_layernorm", "model.norm"),
                SavedModules.resolve(List.of("model.norm", "layers.1.post_attention_layernorm"), 2));
        for (String bad : List.of("q_proj", "mlp", "embed_tokens", "lm_head", "layers.0")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new LoraConfig(4, 8f, 0f, LoraConfig.ATTENTION, false, 0, List.of(bad)));
            assertTrue(e.getMessage().contains("modules_to_save entry '" + bad + "' selects")
                    && e.getMessage().contains("only the RMSNorm weights"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LoraConfig(4, 8f, 0f, LoraConfig.ATTENTION, false, 0, List.of("layer_norm")));
        assertTrue(e.getMessage().contains("'layer_norm' matches no module"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new LoraConfig(4, 8f, 0f, LoraConfig.ATTENTION, false, 0, List.of("norm", "norm")));
        assertTrue(e.getMessage().contains("repeats"), e.getMessage());
        // a layer the model does not have fails when attaching, before anything changes
        LlamaConfig cfg = tiny(true, false);
        try (Arena arena = new Arena()) {
            LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, 1, 0.3f, arena),
                    io.tune4j.ops.cpu.CpuOps.INSTANCE);
            try (LoraMethod lora = new LoraMethod(new LoraConfig(4, 8f, 0f, LoraConfig.ATTENTION, false, 0,
                    List.of("layers.7.input_layernorm")))) {
                e = assertThrows(IllegalArgumentException.class, () -> lora.attach(model));
                assertTrue(e.getMessage().contains("matches no module"), e.getMessage());
                for (Parameter p : model.parameters()) assertFalse(p.name().contains("lora_"), p.toString());
            }
            model.close();
        }
    }

    @Test
    void modulesToSaveRoundTripInPeftLayoutAndLeaveTheBaseModelAlone(@TempDir Path tmp) throws Exception {
        Rand rnd = new Rand();
        Path dir = Fixtures.require("models/stories260K-hf");
        Path out = tmp.resolve("adapter");
        try (LoadedModel m = LoadedModel.load(dir, null, io.tune4j.ops.cpu.CpuOps.INSTANCE)) {
            LlamaModel model = m.model();
            Parameter baseNorm = model.finalNorm();
            float[] baseNormValues = baseNorm.value().toFloatArray();
            int[] toks = tokens(rnd, 10, 512);
            float[] base = logits(model, toks);
            float[] tuned;
            LoraConfig cfg = new LoraConfig(4, 8f, 0f, List.of("q_proj", "v_proj"), false, 3L, List.of("norm"));
            try (LoraMethod lora = new LoraMethod(cfg)) {
                lora.attach(model);
                assertEquals(2 * 5 * 2 + 11, lora.trainableParameters().size());
                assertTrue(model.finalNorm() != baseNorm && model.finalNorm().trainable() && !baseNorm.trainable());
                assertEquals("model.norm.weight", model.finalNorm().name());
                assertArrayEquals(base, logits(model, toks), "the copies start equal to the base weights");
                for (Parameter p : lora.savedModuleParameters()) randomize(p, rnd, 1.0);
                tuned = logits(model, toks);
                assertTrue(maxRelDiff(tuned, base) > 1e-3, "new norm weights must change the logits");
                assertArrayEquals(baseNormValues, baseNorm.value().toFloatArray(), "the base weight is never written");
                lora.save(out);
            }
            assertTrue(model.finalNorm() == baseNorm, "detaching puts the base weight back");
            assertArrayEquals(base, logits(model, toks));
            try (FineTuneMethod loaded = Adapters.load(out, model)) {
                assertArrayEquals(tuned, logits(model, toks), "save -> load must reproduce the logits exactly");
                for (Parameter p : loaded.trainableParameters()) assertFalse(p.trainable());
            }
            assertArrayEquals(base, logits(model, toks));
        }
        JsonNode c = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("[\"norm\"]", c.get("modules_to_save").toString());
        Map<String, SafetensorsFile.TensorInfo> infos = SafetensorsFile.readInfos(out.resolve("adapter_model.safetensors"));
        Set<String> want = new TreeSet<>();
        for (int l = 0; l < 5; l++) {
            for (String mod : List.of("self_attn.q_proj", "self_attn.v_proj")) {
                want.add("base_model.model.model.layers." + l + "." + mod + ".lora_A.weight");
                want.add("base_model.model.model.layers." + l + "." + mod + ".lora_B.weight");
            }
            want.add("base_model.model.model.layers." + l + ".input_layernorm.weight");
            want.add("base_model.model.model.layers." + l + ".post_attention_layernorm.weight");
        }
        want.add("base_model.model.model.norm.weight");
        assertEquals(want, new TreeSet<>(infos.keySet()));
        assertArrayEquals(new long[] {64}, infos.get("base_model.model.model.norm.weight").shape());
        // a file that lacks a listed module is refused, naming the tensor
        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken);
        Files.writeString(broken.resolve("adapter_config.json"), Files.readString(out.resolve("adapter_config.json"))
                .replace("\"norm\"", "\"norm\", \"model.norm\""));
        try (LoadedModel m = LoadedModel.load(dir, null, io.tune4j.ops.cpu.CpuOps.INSTANCE)) {
            io.tune4j.model.io.SafetensorsWriter w = new io.tune4j.model.io.SafetensorsWriter();
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
                for (String k : infos.keySet()) if (!k.contains("norm")) w.add(k, f.tensor(k));
                w.write(broken.resolve("adapter_model.safetensors"));
            }
            Exception e = assertThrows(io.tune4j.model.io.ModelFormatException.class, () -> Adapters.load(broken, m.model()));
            assertTrue(e.getMessage().contains("base_model.model.model.layers.0.input_layernorm.weight' is missing"),
                    e.getMessage());
            // nothing of the failed adapter stays attached
            for (Parameter p : m.model().parameters()) assertFalse(p.trainable() || p.name().contains("lora_"), p.toString());
        }
    }

    @Test
    void dropoutMasksChangeWithTheStepAndBackwardReusesThem() {
        Rand rnd = new Rand();
        LlamaConfig cfg = tiny(true, false);
        try (Arena arena = new Arena()) {
            LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, rnd.seed, 0.3f, arena),
                    io.tune4j.ops.cpu.CpuOps.INSTANCE);
            try (LoraMethod lora = new LoraMethod(new LoraConfig(4, 8f, 0.5f, LoraConfig.ATTENTION, false, 1L));
                 TrainingContext c = model.newTrainingContext(1, 8)) {
                lora.attach(model);
                for (LoraMethod.Site s : lora.sites()) randomize(s.projection().loraB(), rnd, 0.5);
                int[] t = tokens(rnd, 8, cfg.vocabSize());
                c.setBatch(t, t, null, null);
                lora.beforeForward();
                double a = model.forward(c).mean();
                double a2 = model.forward(c).mean();
                lora.beforeForward();
                double b = model.forward(c).mean();
                assertEquals(a, a2, 0.0, "same step, same masks");
                assertNotEquals(a, b, "a new step must draw new masks");
                lora.setTraining(false);
                double e1 = model.forward(c).mean();
                lora.beforeForward();
                assertEquals(e1, model.forward(c).mean(), 0.0, "no dropout in evaluation");
            }
            model.close();
        }
    }

    @Test
    void saveLoadRoundTripAndPeftLayout(@TempDir Path tmp) throws Exception {
        Rand rnd = new Rand();
        Path dir = Fixtures.require("models/stories260K-hf");
        Path out = tmp.resolve("adapter");
        try (LoadedModel m = LoadedModel.load(dir, null, io.tune4j.ops.cpu.CpuOps.INSTANCE)) {
            LlamaModel model = m.model();
            int[] toks = tokens(rnd, 10, 512);
            float[] base = logits(model, toks);
            float[] tuned;
            LoraConfig cfg = new LoraConfig(4, 16f, 0.05f, List.of("q_proj", "v_proj", "down_proj"), true, 3L);
            try (LoraMethod lora = new LoraMethod(cfg).baseModel(dir.toString())) {
                lora.attach(model);
                for (LoraMethod.Site s : lora.sites()) randomize(s.projection().loraB(), rnd, 0.2);
                tuned = logits(model, toks);
                assertTrue(maxRelDiff(tuned, base) > 1e-3, "a random B must change the logits");
                lora.save(out);
            }
            assertArrayEquals(base, logits(model, toks));
            try (FineTuneMethod loaded = Adapters.load(out, model)) {
                assertTrue(loaded instanceof LoraMethod);
                assertArrayEquals(tuned, logits(model, toks), "save -> load must reproduce the logits exactly");
                for (Parameter p : loaded.trainableParameters()) assertFalse(p.trainable());
            }
        }
        JsonNode c = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("LORA", c.get("peft_type").asText());
        assertEquals("CAUSAL_LM", c.get("task_type").asText());
        assertEquals(4, c.get("r").asInt());
        assertEquals(16.0, c.get("lora_alpha").asDouble());
        assertEquals(0.05, c.get("lora_dropout").asDouble(), 1e-7);
        assertEquals("[\"q_proj\",\"v_proj\",\"down_proj\"]", c.get("target_modules").toString());
        assertTrue(c.get("use_rslora").asBoolean());
        assertEquals("none", c.get("bias").asText());
        assertEquals(dir.toString(), c.get("base_model_name_or_path").asText());
        assertFalse(c.get("fan_in_fan_out").asBoolean());
        assertTrue(c.get("inference_mode").asBoolean());
        Map<String, SafetensorsFile.TensorInfo> infos = SafetensorsFile.readInfos(out.resolve("adapter_model.safetensors"));
        Set<String> want = new TreeSet<>();
        for (int l = 0; l < 5; l++) {
            for (String mod : List.of("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj")) {
                want.add("base_model.model.model.layers." + l + "." + mod + ".lora_A.weight");
                want.add("base_model.model.model.layers." + l + "." + mod + ".lora_B.weight");
            }
        }
        assertEquals(want, new TreeSet<>(infos.keySet()));
        assertArrayEquals(new long[] {4, 64}, infos.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").shape());
        assertArrayEquals(new long[] {32, 4}, infos.get("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight").shape());
        assertArrayEquals(new long[] {4, 172}, infos.get("base_model.model.model.layers.4.mlp.down_proj.lora_A.weight").shape());
        assertArrayEquals(new long[] {64, 4}, infos.get("base_model.model.model.layers.4.mlp.down_proj.lora_B.weight").shape());
        assertFalse(Files.list(out).anyMatch(p -> p.getFileName().toString().endsWith(".tmp")));
    }

    @Test
    void initialisationFollowsPeft() {
        LlamaConfig cfg = tiny(true, false);
        try (Arena arena = new Arena()) {
            LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, 1, 0.3f, arena),
                    io.tune4j.ops.cpu.CpuOps.INSTANCE);
            try (LoraMethod lora = new LoraMethod(new LoraConfig(5, 10f, 0f, List.of("up_proj"), false, 9L))) {
                lora.attach(model);
                assertEquals(2f, lora.sites().get(0).projection().scale());
                float bound = (float) (1 / Math.sqrt(cfg.hiddenSize()));
                float[] a = lora.sites().get(0).projection().loraA().value().toFloatArray();
                double maxAbs = 0;
                for (float v : a) maxAbs = Math.max(maxAbs, Math.abs(v));
                assertTrue(maxAbs <= bound && maxAbs > 0.5 * bound, "A ~ U(-1/sqrt(in), 1/sqrt(in)), max |A| " + maxAbs);
                for (float v : lora.sites().get(0).projection().loraB().value().toFloatArray()) assertEquals(0f, v);
                for (Parameter p : model.parameters()) {
                    assertEquals(p.name().contains("lora_"), p.trainable(), p.toString());
                }
                assertEquals(4, lora.trainableParameters().size());
            }
            assertEquals((float) (10 / Math.sqrt(4)), new LoraConfig(4, 10f, 0f, List.of("q_proj"), true, 0).scale());
            model.close();
        }
    }

    @Test
    void invalidConfigurationsFailWithClearMessages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LoraConfig(8, 16f, 0f, List.of("q_proj", "c_attn"), false, 0));
        assertTrue(e.getMessage().contains("unknown LoRA target module 'c_attn'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new LoraConfig(0, 16f, 0f, List.of("q_proj"), false, 0));
        assertTrue(e.getMessage().contains("rank r must be positive, got 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new LoraConfig(-2, 16f, 0f, List.of("q_proj"), false, 0));
        assertTrue(e.getMessage().contains("got -2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new LoraConfig(4, 16f, 1f, List.of("q_proj"), false, 0));
        assertTrue(e.getMessage().contains("dropout"), e.getMessage());
    }
}
