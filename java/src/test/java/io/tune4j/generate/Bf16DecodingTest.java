package io.tune4j.generate;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.InferenceContext;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Check;
import io.tune4j.testing.Fixtures;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Decoding from bf16 copies of the weights (serve/generate --weights bf16) on stories260K. */
class Bf16DecodingTest {
    @Test
    void bf16WeightsKeepTheLogitsAndTheStory() {
        Path dir = Fixtures.require("models/stories260K-hf");
        try (LoadedModel fp32 = LoadedModel.load(dir, null, CpuOps.INSTANCE);
             LoadedModel bf16 = LoadedModel.load(dir, null, CpuOps.INSTANCE)) {
            long bytes = bf16.model().packForDecoding();
            assertTrue(bytes > 0, "packed bytes " + bytes);
            int[] ids = fp32.tokenizer().encode(GenerationTest.PROMPT + GenerationTest.EXPECTED, true);
            // one row per step and the whole prompt at once (where the CPU has them, the vector path and the tiles)
            float[] a = lastLogits(fp32, ids, false), b = lastLogits(bf16, ids, false), c = lastLogits(bf16, ids, true);
            double[] ref = new double[a.length];
            for (int i = 0; i < ref.length; i++) ref[i] = a[i];
            Check.close("bf16-weight logits, token by token", b, ref, 3e-2);
            Check.close("bf16-weight logits, prefill", c, ref, 3e-2);
            try (Generator g = new Generator(bf16.model(), bf16.tokenizer(), 1)) {
                String text = g.generate(GenerationTest.PROMPT, GenerationConfig.greedy(40), null).text();
                assertTrue(text.startsWith(GenerationTest.EXPECTED), "got: " + text);
            }
        }
    }

    private static float[] lastLogits(LoadedModel m, int[] ids, boolean prefill) {
        try (InferenceContext c = m.model().newInferenceContext(1, 64, 64)) {
            if (prefill) return m.model().step(c, new int[] {0}, new int[][] {ids}, new int[] {0}).toFloatArray();
            Tensor logits = null;
            for (int t = 0; t < ids.length; t++) logits = m.model().step(c, new int[] {0}, new int[][] {{ids[t]}}, new int[] {t});
            return logits.toFloatArray();
        }
    }
}
