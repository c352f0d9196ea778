package io.tune4j.peft;

import static io.tune4j.peft.PeftTesting.logits;
import static io.tune4j.peft.PeftTesting.maxRelDiff;
import static io.tune4j.peft.PeftTesting.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.cli.Main;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.Parameter;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.testing.Fixtures;
import io.tune4j.testing.Rand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MergeTest {

    @Test
    void mergedLoraModelMatchesBasePlusAdapter(@TempDir Path tmp) {
        Rand rnd = new Rand();
        Path dir = Fixtures.require("models/stories260K-hf");
        Path adapter = tmp.resolve("adapter"), merged = tmp.resolve("merged"), viaCli = tmp.resolve("cli");
        int[] toks = tokens(rnd, 12, 512);
        float[] tuned;
        try (LoadedModel m = LoadedModel.load(dir, null, CpuOps.INSTANCE);
             LoraMethod lora = new LoraMethod(new LoraConfig(4, 8f, 0.1f, PeftFiles.MODULES, false, 5L))) {
            lora.attach(m.model());
            for (LoraMethod.Site s : lora.sites()) LoraMethodTest.randomize(s.projection().loraB(), rnd, 0.2);
            tuned = logits(m.model(), toks);
            lora.save(adapter);
            Merger.merge(m.model(), lora, m.checkpoint().path(), merged);
        }
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            assertTrue(Files.isRegularFile(merged.resolve(f)), f);
        }
        try (LoadedModel m = LoadedModel.load(merged, null, CpuOps.INSTANCE)) {
            double rel = maxRelDiff(logits(m.model(), toks), tuned);
            assertTrue(rel <= 1e-5, "merged vs base+LoRA: relative difference " + rel);
        }
        assertEquals(0, Main.run("generate", "--model", dir.toString(), "--adapter", adapter.toString(), "-p",
                "Once upon a time", "--max-tokens", "5"));
        assertEquals(2, Main.run("generate", "--model", dir.toString(), "--adapter", tmp.resolve("missing").toString(),
                "-p", "Once", "--max-tokens", "2"));
        assertEquals(0, Main.run("merge", "--model", dir.toString(), "--adapter", adapter.toString(), "--out",
                viaCli.toString()));
        try (LoadedModel m = LoadedModel.load(viaCli, null, CpuOps.INSTANCE)) {
            double rel = maxRelDiff(logits(m.model(), toks), tuned);
            assertTrue(rel <= 1e-5, "CLI merge: relative difference " + rel);
        }
    }

    @Test
    void mergedLoraWithModulesToSaveCarriesTheTrainedNorms(@TempDir Path tmp) {
        Rand rnd = new Rand();
        Path dir = Fixtures.require("models/stories260K-hf");
        Path adapter = tmp.resolve("adapter"), merged = tmp.resolve("merged");
        int[] toks = tokens(rnd, 12, 512);
        float[] tuned;
        try (LoadedModel m = LoadedModel.load(dir, null, CpuOps.INSTANCE);
             LoraMethod lora = new LoraMethod(new LoraConfig(4, 8f, 0f, LoraConfig.ATTENTION, false, 5L,
                     List.of("input_layernorm", "model.norm")))) {
            lora.attach(m.model());
            for (LoraMethod.Site s : lora.sites()) LoraMethodTest.randomize(s.projection().loraB(), rnd, 0.2);
            for (Parameter p : lora.savedModuleParameters()) LoraMethodTest.randomize(p, rnd, 1.0);
            tuned = logits(m.model(), toks);
            lora.save(adapter);
        }
        assertEquals(0, Main.run("merge", "--model", dir.toString(), "--adapter", adapter.toString(), "--out",
                merged.toString()));
        try (LoadedModel m = LoadedModel.load(merged, null, CpuOps.INSTANCE)) {
            double rel = maxRelDiff(logits(m.model(), toks), tuned);
            assertTrue(rel <= 1e-5, "merged vs base+LoRA+norms: relative difference " + rel);
        }
    }

    @Test
    void adaptersAndPrefixesCannotBeMerged(@TempDir Path tmp) {
        Path dir = Fixtures.require("models/stories260K-hf");
        try (LoadedModel m = LoadedModel.load(dir, null, CpuOps.INSTANCE)) {
            LlamaModel model = m.model();
            try (AdapterMethod a = new AdapterMethod(AdapterConfig.defaults())) {
                a.attach(model);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Merger.merge(model, a, dir, tmp.resolve("x")));
                assertTrue(e.getMessage().contains("cannot be merged"), e.getMessage());
                a.save(tmp.resolve("adapters"));
            }
            try (PrefixMethod p = new PrefixMethod(new PrefixConfig(3, false, 0, 1))) {
                p.attach(model);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Merger.merge(model, p, dir, tmp.resolve("y")));
                assertTrue(e.getMessage().contains("cannot be merged"), e.getMessage());
            }
        }
        assertEquals(2, Main.run("merge", "--model", dir.toString(), "--adapter", tmp.resolve("adapters").toString(),
                "--out", tmp.resolve("z").toString()));
        assertTrue(!Files.exists(tmp.resolve("z").resolve("model.safetensors")));
    }

    @Test
    void fullFineTuningSavesACompleteModel(@TempDir Path tmp) {
        Rand rnd = new Rand();
        Path dir = Fixtures.require("models/stories260K-hf");
        int[] toks = tokens(rnd, 8, 512);
        float[] changed;
        try (LoadedModel m = LoadedModel.load(dir, null, CpuOps.INSTANCE);
             FullMethod full = new FullMethod(dir)) {
            full.attach(m.model());
            for (Parameter p : m.model().parameters()) assertTrue(p.trainable(), p.toString());
            assertEquals(m.model().parameters().size(), full.trainableParameters().size());
            // stand-in for an optimiser step: nudge every weight
            for (Parameter p : full.trainableParameters()) {
                float[] v = p.value().toFloatArray();
                float[] d = rnd.normal(v.length, 0.01);
                for (int i = 0; i < v.length; i++) v[i] += d[i];
                p.value().floats().put(v);
            }
            changed = logits(m.model(), toks);
            full.save(tmp.resolve("full"));
        }
        try (LoadedModel m = LoadedModel.load(tmp.resolve("full"), null, CpuOps.INSTANCE)) {
            assertArrayEquals(changed, logits(m.model(), toks));
        }
    }
}
