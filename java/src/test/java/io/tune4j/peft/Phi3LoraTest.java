package io.tune4j.peft;

import static io.tune4j.peft.PeftTesting.logits;
import static io.tune4j.peft.PeftTesting.maxRelDiff;
import static io.tune4j.peft.PeftTesting.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA on Phi-3's fused projections: one adapter on qkv_proj's whole [q + 2kv] output and one on
 * gate_up_proj's [2 intermediate], saved under PEFT's names for Phi3ForCausalLM, loaded back to the
 * same logits (attached, and from a LoRA bank), and merged into the fused weights.
 */
class Phi3LoraTest {
    static final String CONFIG = "{\"model_type\": \"phi3\", \"architectures\": [\"Phi3ForCausalLM\"], \"vocab_size\": 41, "
            + "\"hidden_size\": 24, \"intermediate_size\": 40, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
            + "\"num_key_value_heads\": 2, \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-5, "
            + "\"sliding_window\": 5, \"tie_word_embeddings\": false}";

    static LlamaConfig phi3() throws Exception {
        return LlamaConfigReader.parse(Path.of("phi3/config.json"), new ObjectMapper().readTree(CONFIG));
    }

    @Test
    void loraOnFusedProjectionsSavesPeftKeysLoadsBackAndMerges(@TempDir Path tmp) throws Exception {
        LlamaConfig cfg = phi3();
        Ops ops = CpuOps.INSTANCE;
        Rand rnd = new Rand();
        Path out = tmp.resolve("adapter");
        try (Arena arena = new Arena()) {
            Map<String, Tensor> weights = RandomWeights.create(cfg, rnd.seed, 0.2f, arena);
            LlamaModel model = LlamaModel.fromWeights(cfg, weights, ops);
            int[] toks = tokens(rnd, 12, cfg.vocabSize());
            float[] base = logits(model, toks);
            float[] tuned, tunedLast;
            Map<String, Tensor> merged = new HashMap<>(weights);
            Set<String> mergedNames = new TreeSet<>();
            LoraConfig lc = new LoraConfig(3, 6f, 0f, List.of("qkv_proj", "gate_up_proj"), false, 11L);
            try (LoraMethod lora = new LoraMethod(lc)) {
                lora.attach(model);
                assertEquals(2 * cfg.numLayers(), lora.sites().size());
                for (LoraMethod.Site s : lora.sites()) LoraMethodTest.randomize(s.projection().loraB(), rnd, 0.2);
                tuned = logits(model, toks);
                tunedLast = LoraBankTest.last(model, toks, -1);
                assertTrue(maxRelDiff(tuned, base) > 1e-3, "a random B must change the logits");
                lora.save(out);
                Map<String, MergedWeight> sites = Merger.mergeableSites(lora);
                mergedNames.addAll(sites.keySet());
                for (Map.Entry<String, MergedWeight> e : sites.entrySet()) {
                    merged.put(e.getKey(), e.getValue().compute(ops, arena));
                }
            }
            assertArrayEquals(base, logits(model, toks), "detaching restores the base model");
            try (FineTuneMethod loaded = Adapters.load(out, model)) {
                assertTrue(loaded instanceof LoraMethod);
                assertArrayEquals(tuned, logits(model, toks), "save -> load must reproduce the logits exactly");
            }
            assertEquals(Set.of("model.layers.0.self_attn.qkv_proj.weight", "model.layers.1.self_attn.qkv_proj.weight",
                    "model.layers.0.mlp.gate_up_proj.weight", "model.layers.1.mlp.gate_up_proj.weight"), mergedNames);
            // served from a LoRA bank, the adapter's rows decode as when it is attached alone
            try (LoraBank bank = new LoraBank(model, 2)) {
                int slot = bank.load("phi3", out);
                LoraBankTest.assertClose(tunedLast, LoraBankTest.last(model, toks, slot), "bank slot");
            }
            LlamaModel mergedModel = LlamaModel.fromWeights(cfg, merged, ops);
            assertTrue(maxRelDiff(logits(mergedModel, toks), tuned) < 1e-5, "merged fused weights give the adapter's logits");
        }

        JsonNode c = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("[\"qkv_proj\",\"gate_up_proj\"]", c.get("target_modules").toString());
        Map<String, SafetensorsFile.TensorInfo> infos = SafetensorsFile.readInfos(out.resolve("adapter_model.safetensors"));
        Set<String> want = new TreeSet<>();
        for (int l = 0; l < cfg.numLayers(); l++) {
            for (String mod : List.of("self_attn.qkv_proj", "mlp.gate_up_proj")) {
                want.add("base_model.model.model.layers." + l + "." + mod + ".lora_A.weight");
                want.add("base_model.model.model.layers." + l + "." + mod + ".lora_B.weight");
            }
        }
        assertEquals(want, new TreeSet<>(infos.keySet()));
        int qkv = cfg.qDim() + 2 * cfg.kvDim();
        assertArrayEquals(new long[] {3, 24}, infos.get("base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight").shape());
        assertArrayEquals(new long[] {qkv, 3}, infos.get("base_model.model.model.layers.0.self_attn.qkv_proj.lora_B.weight").shape());
        assertArrayEquals(new long[] {80, 3}, infos.get("base_model.model.model.layers.1.mlp.gate_up_proj.lora_B.weight").shape());
    }

    /**
     * LoRA on every fused projection, bottleneck adapters and a prefix on a Phi-3 model (sliding window
     * 5 < T): their gradients against finite differences. DoRA's is in DoraMethodTest, which can hold its norms.
     */
    @Test
    void everyMethodsGradientMatchesFiniteDifferences() throws Exception {
        LlamaConfig cfg = phi3();
        List<String> fused = List.of("qkv_proj", "o_proj", "gate_up_proj", "down_proj");
        for (int variant = 0; variant < 3; variant++) {
            Rand rnd = new Rand();
            try (Arena arena = new Arena()) {
                LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, rnd.seed, 0.3f, arena), CpuOps.INSTANCE);
                LoraConfig lc = new LoraConfig(3, 6f, 0f, fused, false, rnd.seed);
                try (FineTuneMethod m = switch (variant) {
                    case 0 -> new LoraMethod(lc);
                    case 1 -> new AdapterMethod(AdapterConfig.defaults());
                    default -> new PrefixMethod(new PrefixConfig(3, false, 0, rnd.seed));
                }) {
                    m.attach(model);
                    // B starts at zero, which would leave A without a gradient to check
                    for (io.tune4j.model.Parameter p : m.trainableParameters()) {
                        if (p.name().endsWith("lora_B.weight")) LoraMethodTest.randomize(p, rnd, 0.3);
                    }
                    PeftTesting.checkGradient(model, m, rnd, 2, 9, true, m.name() + " on phi3 " + rnd);
                }
                model.close();
            }
        }
    }

    @Test
    void targetsOfAnotherFamilyAreRefusedByName() throws Exception {
        LlamaConfig cfg = phi3();
        try (Arena arena = new Arena()) {
            LlamaModel phi = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, 1, 0.1f, arena), CpuOps.INSTANCE);
            try (LoraMethod lora = new LoraMethod(new LoraConfig(2, 4f, 0f, List.of("q_proj", "v_proj"), false, 1L))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> lora.attach(phi));
                assertTrue(e.getMessage().contains("LoRA target module 'q_proj' is not a projection of phi3 layers "
                        + "(expected some of [qkv_proj, o_proj, gate_up_proj, down_proj])"), e.getMessage());
            }
            LlamaConfig llamaCfg = PeftTesting.tiny(false, false);
            LlamaModel llama = LlamaModel.fromWeights(llamaCfg, RandomWeights.create(llamaCfg, 1, 0.1f, arena), CpuOps.INSTANCE);
            try (LoraMethod lora = new LoraMethod(new LoraConfig(2, 4f, 0f, List.of("qkv_proj"), false, 1L))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> lora.attach(llama));
                assertTrue(e.getMessage().contains("'qkv_proj' is not a projection of llama layers"), e.getMessage());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> phi.layers().get(0).projection("gate_proj"));
            assertTrue(e.getMessage().contains("module 'gate_proj' is not a projection of phi3 layers"), e.getMessage());
        }
    }
}
