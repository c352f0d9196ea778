package io.tune4j.peft;

import static io.tune4j.peft.PeftTesting.logits;
import static io.tune4j.peft.PeftTesting.maxRelDiff;
import static io.tune4j.peft.PeftTesting.tiny;
import static io.tune4j.peft.PeftTesting.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.TrainingContext;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Fixtures;
import io.tune4j.testing.Rand;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PrefixMethodTest {
    static List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gradientMatchesFiniteDifferences(Ops ops) {
        for (boolean projection : new boolean[] {false, true}) {
            Rand rnd = new Rand();
            LlamaConfig cfg = tiny(!projection, false);
            try (Arena arena = new Arena()) {
                LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, rnd.seed, 0.3f, arena), ops);
                try (PrefixMethod p = new PrefixMethod(new PrefixConfig(3, projection, 7, rnd.seed))) {
                    p.attach(model);
                    PeftTesting.checkGradient(model, p, rnd, 2, 6, true, "prefix projection=" + projection + " " + rnd);
                }
                model.close();
            }
        }
    }

    @Test
    void trainingAndDecodingAgreeWithAPrefix() {
        // the loss of the training path equals the cross-entropy of the decoding path's logits:
        // both must place the real tokens after the prefix (positions n, n+1, ...)
        Rand rnd = new Rand();
        LlamaConfig cfg = tiny(true, false);
        try (Arena arena = new Arena()) {
            LlamaModel model = LlamaModel.fromWeights(cfg, RandomWeights.create(cfg, rnd.seed, 0.3f, arena),
                    CpuOps.INSTANCE);
            try (PrefixMethod p = new PrefixMethod(new PrefixConfig(4, false, 0, rnd.seed));
                 TrainingContext c = model.newTrainingContext(1, 10)) {
                p.attach(model);
                int[] toks = tokens(rnd, 11, cfg.vocabSize());
                int[] in = java.util.Arrays.copyOf(toks, 10), tg = java.util.Arrays.copyOfRange(toks, 1, 11);
                c.setBatch(in, tg, null, null);
                double trainLoss = model.forward(c).mean();
                double sum = 0;
                int V = cfg.vocabSize();
                try (var ic = model.newInferenceContext(1, 32, 1)) {
                    for (int i = 0; i < 10; i++) {
                        float[] l = model.step(ic, new int[] {0}, new int[][] {{in[i]}}, new int[] {i}).toFloatArray();
                        double max = Double.NEGATIVE_INFINITY, z = 0;
                        for (float v : l) max = Math.max(max, v);
                        for (float v : l) z += Math.exp(v - max);
                        sum += max + Math.log(z) - l[tg[i]];
                    }
                }
                assertEquals(sum / 10, trainLoss, 1e-5 * Math.abs(trainLoss));
                assertEquals(V, cfg.vocabSize());
            }
            model.close();
        }
    }

    @Test
    void attachedPrefixChangesLogitsAndRoundTrips(@TempDir Path tmp) throws Exception {
        Rand rnd = new Rand();
        Path dir = Fixtures.require("models/stories260K-hf");
        for (boolean projection : new boolean[] {false, true}) {
            Path out = tmp.resolve("prefix-" + projection);
            try (LoadedModel m = LoadedModel.load(dir, null, CpuOps.INSTANCE)) {
                LlamaModel model = m.model();
                int[] toks = tokens(rnd, 10, 512);
                float[] base = logits(model, toks), tuned;
                float[] firstKeysLayer1;
                try (PrefixMethod p = new PrefixMethod(new PrefixConfig(5, projection, 16, rnd.seed))) {
                    p.attach(model);
                    tuned = logits(model, toks);
                    assertTrue(maxRelDiff(tuned, base) > 1e-3, "a prefix must change the logits");
                    firstKeysLayer1 = p.prefixKeys().get(1).value().slice(0, 1).toFloatArray();
                    p.save(out);
                }
                assertArrayEquals(base, logits(model, toks), "detached");
                try (FineTuneMethod loaded = Adapters.load(out, model)) {
                    assertTrue(loaded instanceof PrefixMethod);
                    assertArrayEquals(tuned, logits(model, toks), "save -> load must reproduce the logits");
                }
                // PEFT layout: per virtual token, per layer, key then value, each kvDim wide
                try (SafetensorsFile f = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
                    assertEquals(java.util.Set.of("prompt_embeddings"), f.names());
                    Tensor e = f.tensor("prompt_embeddings");
                    assertArrayEquals(new long[] {5, 5 * 2 * 32}, e.shape());
                    float[] row0 = e.slice(0, 1).toFloatArray();
                    assertArrayEquals(firstKeysLayer1, java.util.Arrays.copyOfRange(row0, 2 * 32, 3 * 32));
                }
            }
            JsonNode c = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
            assertEquals("PREFIX_TUNING", c.get("peft_type").asText());
            assertEquals("CAUSAL_LM", c.get("task_type").asText());
            assertEquals(5, c.get("num_virtual_tokens").asInt());
            assertEquals(32, c.get("token_dim").asInt());
            assertEquals(5, c.get("num_layers").asInt());
            assertEquals(4, c.get("num_attention_heads").asInt());
            assertEquals(1, c.get("num_transformer_submodules").asInt());
            assertEquals(projection, c.get("prefix_projection").asBoolean());
            assertEquals(projection ? 16 : 64, c.get("encoder_hidden_size").asInt());
            assertFalse(c.get("inference_mode").isNull());
        }
    }
}
