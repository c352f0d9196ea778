package io.tune4j.peft;

import static io.tune4j.peft.PeftTesting.logits;
import static io.tune4j.peft.PeftTesting.maxRelDiff;
import static io.tune4j.peft.PeftTesting.tiny;
import static io.tune4j.peft.PeftTesting.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import io.tune4j.ops.Activation;
import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.testing.Fixtures;
import io.tune4j.testing.Rand;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AdapterMethodTest {
    static List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void stepZeroEqualsBaseModel(Ops ops) {
        Rand rnd = new Rand();
        try (LoadedModel m = LoadedModel.load(Fixtures.require("models/stories260K-hf"), null, ops)) {
            LlamaModel model = m.model();
            int[] toks = tokens(rnd, 12, 512);
            float[] base = logits(model, toks);
            try (TrainingContext c = model.newTrainingContext(3, 4)) {
                c.setBatch(toks, toks, null, null);
                double baseLoss = model.forward(c).mean();
                for (AdapterConfig.Kind kind : AdapterConfig.Kind.values()) {
                    try (AdapterMethod a = new AdapterMethod(new AdapterConfig(kind, 8, Activation.GELU, 0.1f, 3))) {
                        a.attach(model);
                        assertEquals(kind == AdapterConfig.Kind.HOULSBY ? 10 : 5, a.sites().size());
                        assertArrayEquals(base, logits(model, toks), kind + ": zero up-projection must not change logits");
                        assertEquals(baseLoss, model.forward(c).mean(), 0.0, kind.toString());
                    }
                }
            }
            assertArrayEquals(base, logits(model, toks), "detached");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gradientMatchesFiniteDifferences(Ops ops) {
        int variant = 0;
        for (AdapterConfig.Kind kind : AdapterConfig.Kind.values()) {
            for (Activation act : Activation.values()) {
                Rand rnd = new Rand();
                LlamaConfig cfg = tiny(variant++ % 2 == 0, false);
                try (Arena arena = new Arena()) {
                    Map<String, io.tune4j.tensor.Tensor> w = RandomWeights.create(cfg, rnd.seed, 0.3f, arena);
                    LlamaModel model = LlamaModel.fromWeights(cfg, w, ops);
                    try (AdapterMethod a = new AdapterMethod(new AdapterConfig(kind, 5, act, 0.3f, rnd.seed))) {
                        a.attach(model);
                        for (Parameter p : a.trainableParameters()) {
                            if (p.name().contains(".up.")) LoraMethodTest.randomize(p, rnd, 0.3);
                        }
                        PeftTesting.checkGradient(model, a, rnd, 2, 7, true, kind + " " + act + " " + rnd);
                    }
                    model.close();
                }
            }
        }
    }

    @Test
    void saveLoadRoundTrip(@TempDir Path tmp) throws Exception {
        Rand rnd = new Rand();
        Path out = tmp.resolve("adapters");
        try (LoadedModel m = LoadedModel.load(Fixtures.require("models/stories260K-hf"), null, CpuOps.INSTANCE)) {
            LlamaModel model = m.model();
            int[] toks = tokens(rnd, 9, 512);
            float[] base = logits(model, toks), tuned;
            try (AdapterMethod a = new AdapterMethod(new AdapterConfig(AdapterConfig.Kind.HOULSBY, 6, Activation.SILU, 0.1f, 1))) {
                a.attach(model);
                for (Parameter p : a.trainableParameters()) LoraMethodTest.randomize(p, rnd, 0.2);
                tuned = logits(model, toks);
                assertTrue(maxRelDiff(tuned, base) > 1e-3);
                a.save(out);
            }
            try (FineTuneMethod loaded = Adapters.load(out, model)) {
                assertTrue(loaded instanceof AdapterMethod);
                assertArrayEquals(tuned, logits(model, toks));
            }
        }
        JsonNode c = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("BOTTLENECK", c.get("peft_type").asText());
        assertEquals("houlsby", c.get("adapter_type").asText());
        assertEquals(6, c.get("bottleneck_size").asInt());
        assertEquals("silu", c.get("non_linearity").asText());
        Map<String, SafetensorsFile.TensorInfo> infos = SafetensorsFile.readInfos(out.resolve("adapter_model.safetensors"));
        assertEquals(5 * 2 * 4, infos.size());
        assertArrayEquals(new long[] {6, 64}, infos.get("base_model.model.model.layers.0.mlp.adapter.down.weight").shape());
        assertArrayEquals(new long[] {6}, infos.get("base_model.model.model.layers.0.mlp.adapter.down.bias").shape());
        assertArrayEquals(new long[] {64, 6}, infos.get("base_model.model.model.layers.4.self_attn.adapter.up.weight").shape());
        assertArrayEquals(new long[] {64}, infos.get("base_model.model.model.layers.4.self_attn.adapter.up.bias").shape());
    }

    @Test
    void invalidConfigurationsFail() {
        assertThrows(IllegalArgumentException.class, () -> new AdapterConfig(AdapterConfig.Kind.HOULSBY, 0, Activation.RELU, 0f, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdapterConfig.parseKind("lora"));
        assertTrue(e.getMessage().contains("houlsby or pfeiffer"));
    }
}
