package io.tune4j.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.generate.BatchDecoder;
import io.tune4j.generate.GenerationConfig;
import io.tune4j.generate.GenerationResult;
import io.tune4j.generate.Sequence;
import io.tune4j.model.DecoderLayer;
import io.tune4j.model.DenseProjection;
import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.Projection;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.testing.Fixtures;
import io.tune4j.testing.Rand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several LoRA adapters served in one batch through {@link LoraBank}: every sequence's logits must
 * equal those of decoding it alone with its adapter attached the single-adapter way
 * ({@link LoraMethod#load}), whatever shares the batch (other adapters, the same adapter, the base
 * model, prompts being prefilled).
 */
class LoraBankTest {
    static LoadedModel m;
    @TempDir
    static Path tmp;
    static List<Path> adapters = new ArrayList<>();
    static Path withNorms; // LoRA with modules_to_save

    /** Three adapters with random non-zero A and B, different targets and ranks, saved in PEFT layout. */
    @BeforeAll
    static void setUp() {
        m = LoadedModel.load(Fixtures.require("models/stories260K-hf"), null, CpuOps.INSTANCE);
        Rand rnd = new Rand(1234);
        List<LoraConfig> cfgs = List.of(
                new LoraConfig(4, 8f, 0f, List.of("q_proj", "v_proj"), false, 1L),
                new LoraConfig(8, 16f, 0f, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj"), false, 2L),
                new LoraConfig(3, 4f, 0f, List.of("o_proj", "up_proj", "down_proj"), true, 3L));
        for (int i = 0; i < cfgs.size(); i++) adapters.add(save(m.model(), cfgs.get(i), rnd, tmp.resolve("lora" + i)));
        withNorms = save(m.model(), new LoraConfig(4, 8f, 0f, List.of("q_proj"), false, 4L, List.of("norm")), rnd,
                tmp.resolve("lora-norms"));
    }

    static Path save(LlamaModel model, LoraConfig cfg, Rand rnd, Path dir) {
        try (LoraMethod method = new LoraMethod(cfg)) {
            method.attach(model);
            for (LoraMethod.Site s : method.sites()) {
                // about the size of trained adapters: a clear change of the logits, not a different model
                LoraMethodTest.randomize(s.projection().loraA(), rnd, 0.2);
                LoraMethodTest.randomize(s.projection().loraB(), rnd, 0.2);
            }
            Files.createDirectories(dir);
            method.save(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        for (DecoderLayer l : model.layers()) {
            for (String mod : PeftFiles.MODULES) assertTrue(l.projection(mod) instanceof DenseProjection);
        }
        return dir;
    }

    @AfterAll
    static void tearDown() {
        m.close();
    }

    /** Sequence i: its prompt, then the tokens fed one per step; it joins the batch at step join[i]. */
    record Script(int[] prompt, int[] fed, int join, int adapter) {}

    /** Logits of each of the script's steps, run alone on the model as it is. */
    static List<float[]> alone(LlamaModel model, Script s) {
        List<float[]> out = new ArrayList<>();
        try (InferenceContext c = model.newInferenceContext(1, 64, 64)) {
            out.add(model.step(c, new int[] {0}, new int[][] {s.prompt}, new int[] {0}).toFloatArray());
            for (int k = 0; k < s.fed.length; k++) {
                out.add(model.step(c, new int[] {0}, new int[][] {{s.fed[k]}}, new int[] {s.prompt.length + k}).toFloatArray());
            }
        }
        return out;
    }

    @Test
    void adaptersRunOnBf16DecodingWeights() {
        // a model of its own: packing for decoding stays with it
        try (LoadedModel packed = LoadedModel.load(Fixtures.require("models/stories260K-hf"), null, CpuOps.INSTANCE)) {
            int[] prompt = PeftTesting.tokens(new Rand(7), 9, 512);
            float[][] fp32 = bankStep(m.model(), prompt);
            assertTrue(packed.model().packForDecoding() > 0);
            float[][] bf16 = bankStep(packed.model(), prompt);
            for (int row = 0; row < 2; row++) {
                double e = PeftTesting.maxRelDiff(bf16[row], fp32[row]);
                assertTrue(e <= 3e-2, "row " + row + " (adapter " + (row - 1) + "): bf16 weights vs fp32 " + e);
            }
            assertTrue(PeftTesting.maxRelDiff(bf16[0], bf16[1]) > 1e-3, "the adapter still changes the bf16 logits");
        }
    }

    /** One step over the same prompt twice: row 0 on the base model, row 1 on adapter 1. */
    private static float[][] bankStep(LlamaModel model, int[] prompt) {
        try (LoraBank bank = new LoraBank(model, 1); InferenceContext c = model.newInferenceContext(2, 64, 64)) {
            int slot = bank.load("b", adapters.get(1));
            float[] logits = model.step(c, new int[] {0, 1}, new int[][] {prompt, prompt}, new int[] {0, 0},
                    new int[] {-1, slot}).toFloatArray();
            int V = model.config().vocabSize();
            return new float[][] {java.util.Arrays.copyOfRange(logits, 0, V), java.util.Arrays.copyOfRange(logits, V, 2 * V)};
        }
    }

    @Test
    void mixedBatchLogitsEqualEachAdapterAlone() {
        LlamaModel model = m.model();
        Rand rnd = new Rand(99);
        // adapters 0, 1, 2, the base model, adapter 0 again (its decode rows are not contiguous)
        int[] slotOf = {0, 1, 2, -1, 0};
        int[] joins = {0, 0, 1, 2, 2};
        List<Script> scripts = new ArrayList<>();
        for (int i = 0; i < slotOf.length; i++) {
            scripts.add(new Script(PeftTesting.tokens(rnd, 3 + 2 * i, 512), PeftTesting.tokens(rnd, 6, 512), joins[i], slotOf[i]));
        }
        List<List<float[]>> expected = new ArrayList<>();
        for (Script s : scripts) {
            if (s.adapter < 0) {
                expected.add(alone(model, s));
                continue;
            }
            try (LoraMethod method = LoraMethod.load(adapters.get(s.adapter), model)) {
                expected.add(alone(model, s));
            }
        }
        try (LoraBank bank = new LoraBank(model, 4)) {
            // load out of order so that bank slots differ from adapter numbers
            int[] bankSlot = new int[3];
            bankSlot[2] = bank.load("c", adapters.get(2));
            bankSlot[0] = bank.load("a", adapters.get(0));
            bankSlot[1] = bank.load("b", adapters.get(1));
            assertEquals(3, bank.size());
            int n = scripts.size();
            int[] done = new int[n]; // steps each sequence has run
            List<List<float[]>> got = new ArrayList<>();
            for (int i = 0; i < n; i++) got.add(new ArrayList<>());
            try (InferenceContext c = model.newInferenceContext(n, 64, 64)) {
                for (int step = 0; ; step++) {
                    List<Integer> in = new ArrayList<>();
                    for (int i = 0; i < n; i++) if (scripts.get(i).join <= step && done[i] <= scripts.get(i).fed.length) in.add(i);
                    if (in.isEmpty()) break;
                    int k = in.size();
                    int[] slots = new int[k], start = new int[k], ad = new int[k];
                    int[][] toks = new int[k][];
                    for (int j = 0; j < k; j++) {
                        int i = in.get(j);
                        Script s = scripts.get(i);
                        slots[j] = i;
                        ad[j] = s.adapter < 0 ? -1 : bankSlot[s.adapter];
                        if (done[i] == 0) {
                            toks[j] = s.prompt;
                            start[j] = 0;
                        } else {
                            toks[j] = new int[] {s.fed[done[i] - 1]};
                            start[j] = s.prompt.length + done[i] - 1;
                        }
                    }
                    float[] logits = model.step(c, slots, toks, start, ad).toFloatArray();
                    int V = model.config().vocabSize();
                    for (int j = 0; j < k; j++) {
                        int i = in.get(j);
                        got.get(i).add(java.util.Arrays.copyOfRange(logits, j * V, (j + 1) * V));
                        done[i]++;
                    }
                }
            }
            double worst = 0;
            for (int i = 0; i < n; i++) {
                for (int t = 0; t < got.get(i).size(); t++) {
                    worst = Math.max(worst, PeftTesting.maxRelDiff(got.get(i).get(t), expected.get(i).get(t)));
                }
            }
            System.out.println("LoraBankTest: worst relative logit difference mixed vs alone " + worst);
            for (int i = 0; i < n; i++) {
                assertEquals(expected.get(i).size(), got.get(i).size());
                for (int t = 0; t < got.get(i).size(); t++) {
                    double e = PeftTesting.maxRelDiff(got.get(i).get(t), expected.get(i).get(t));
                    assertTrue(e <= 1e-5, "sequence " + i + " (adapter " + slotOf[i] + ") step " + t + ": relative error " + e);
                }
            }
            // the adapters really change the logits (otherwise the check above proves little)
            double diff = PeftTesting.maxRelDiff(expected.get(0).get(0), alone(model, scripts.get(0)).get(0));
            System.out.println("LoraBankTest: adapter 0 changes the logits by " + diff + " (relative)");
            assertTrue(diff > 1e-2, "adapter 0 barely changes the logits: " + diff);
        }
        for (DecoderLayer l : model.layers()) {
            for (String mod : PeftFiles.MODULES) assertTrue(l.projection(mod) instanceof DenseProjection, "closing puts the base back");
        }
    }

    @Test
    void batchDecoderGivesEachAdapterItsOwnText() {
        LlamaModel model = m.model();
        List<int[]> prompts = List.of(m.tokenizer().encode("Once upon a time", true), m.tokenizer().encode("The cat", true),
                m.tokenizer().encode("Tom and his mom went", true), m.tokenizer().encode("One day", true));
        int[] adapterOf = {0, 1, -1, 2};
        GenerationConfig cfg = GenerationConfig.greedy(20);
        List<GenerationResult> alone = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            LoraMethod method = adapterOf[i] < 0 ? null : LoraMethod.load(adapters.get(adapterOf[i]), model);
            try (BatchDecoder d = new BatchDecoder(model, m.tokenizer(), 1, 64)) {
                Sequence s = d.admit(prompts.get(i), cfg, null);
                while (d.step()) { }
                alone.add(s.result());
            } finally {
                if (method != null) method.close();
            }
        }
        try (LoraBank bank = new LoraBank(model, 3); BatchDecoder d = new BatchDecoder(model, m.tokenizer(), 4, 64)) {
            int[] slot = {bank.load("a", adapters.get(0)), bank.load("b", adapters.get(1)), bank.load("c", adapters.get(2))};
            List<Sequence> seqs = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                seqs.add(d.admit(prompts.get(i), cfg, null, adapterOf[i] < 0 ? -1 : slot[adapterOf[i]]));
                d.step(); // staggered: later prompts are prefilled while earlier ones decode
            }
            while (d.step()) { }
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(alone.get(i).tokens(), seqs.get(i).result().tokens(), "sequence " + i);
                assertEquals(alone.get(i).text(), seqs.get(i).result().text());
            }
        }
    }

    /** Last-token logits of one sequence prefilled in one step, its rows on bank slot {@code slot} (-1: base). */
    static float[] last(LlamaModel model, int[] toks, int slot) {
        try (InferenceContext c = model.newInferenceContext(1, 64, toks.length)) {
            return model.step(c, new int[] {0}, new int[][] {toks}, new int[] {0}, new int[] {slot}).toFloatArray();
        }
    }

    static void assertClose(float[] want, float[] got, String what) {
        double rel = PeftTesting.maxRelDiff(got, want);
        assertTrue(rel <= 1e-5, what + ": relative difference " + rel);
    }

    @Test
    void suspendedBankLetsALoraWithModulesToSaveRunAloneAndResumes() {
        LlamaModel model = m.model();
        int[] toks = PeftTesting.tokens(new Rand(7), 10, 512);
        float[] base = last(model, toks, -1), want0, want1, wantNorms;
        try (LoraMethod x = LoraMethod.load(adapters.get(0), model)) {
            want0 = last(model, toks, -1);
        }
        try (LoraMethod x = LoraMethod.load(adapters.get(1), model)) {
            want1 = last(model, toks, -1);
        }
        try (LoraMethod x = LoraMethod.load(withNorms, model)) {
            wantNorms = last(model, toks, -1);
        }
        try (LoraBank bank = new LoraBank(model, 4)) {
            int a = bank.load("a", adapters.get(0));
            assertClose(want0, last(model, toks, a), "adapter a through the bank");
            bank.suspend();
            assertTrue(bank.suspended());
            for (DecoderLayer l : model.layers()) {
                for (String mod : PeftFiles.MODULES) assertTrue(l.projection(mod) instanceof DenseProjection, mod);
            }
            int b;
            try (LoraMethod alone = LoraMethod.load(withNorms, model)) {
                assertClose(wantNorms, last(model, toks, -1), "LoRA with modules_to_save alone");
                b = bank.load("b", adapters.get(1)); // loading goes on while suspended
                assertThrows(IllegalStateException.class, bank::resume, "resuming over an attached method");
            }
            bank.resume();
            assertTrue(!bank.suspended());
            assertClose(want0, last(model, toks, a), "adapter a after resume");
            assertClose(want1, last(model, toks, b), "adapter b, loaded while suspended");
            assertClose(base, last(model, toks, -1), "base rows after resume");
        }
    }

    @Test
    void loadUnloadAndErrors() {
        LlamaModel model = m.model();
        try (LoraBank bank = new LoraBank(model, 2)) {
            int a = bank.load("a", adapters.get(0));
            int b = bank.load("b", adapters.get(2));
            assertThrows(IllegalStateException.class, () -> bank.load("c", adapters.get(1)));
            bank.unload(a);
            assertNull(bank.name(a));
            assertEquals("b", bank.name(b));
            for (MultiLoraProjection p : bank.projections()) if (p != null) assertEquals(0, p.rank(a));
            // a directory that is not an adapter, and a LoRA for another model shape, leave the bank as it was
            assertThrows(ModelFormatException.class, () -> bank.load("x", tmp));
            assertEquals(1, bank.size());
            // modules_to_save replace base weights for every row: such an adapter cannot share the bank
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bank.load("n", withNorms));
            assertTrue(e.getMessage().contains("modules_to_save"), e.getMessage());
            assertEquals(1, bank.size());
            Projection q = model.layers().get(0).projection("q_proj");
            assertSame(q, model.layers().get(0).projection("q_proj"));
            assertThrows(IllegalStateException.class, () -> q.forward(null, null, 1), "training through the bank is refused");
            assertThrows(IllegalArgumentException.class, () -> new LoraBank(model, LoraBank.MAX_SLOTS + 1));
        }
    }
}
