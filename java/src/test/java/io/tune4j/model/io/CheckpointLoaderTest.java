package io.tune4j.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.model.LlamaConfig;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointLoaderTest {
    @TempDir
    Path tmp;

    @Test
    void bothStoriesFormsAgree() {
        Path bin = Fixtures.require("models/stories260K/stories260K.bin");
        Path hf = Fixtures.require("models/stories260K-hf");
        try (LlamaCheckpoint a = CheckpointLoader.load(bin); LlamaCheckpoint b = CheckpointLoader.load(hf)) {
            LlamaConfig ca = a.config(), cb = b.config();
            assertEquals(cb, ca, "configs");
            assertEquals(b.weights().keySet(), a.weights().keySet());
            assertNull(a.weights().get(LlamaWeights.LM_HEAD));
            assertEquals(LlamaWeights.expectedShapes(ca).size(), a.weights().size());
            for (String name : b.weights().keySet()) {
                float[] x = a.weight(name).toFloatArray(), y = b.weight(name).toFloatArray();
                assertArrayEquals(b.weight(name).shape(), a.weight(name).shape(), name);
                float max = 0;
                for (int i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
                assertTrue(max <= 1e-6f, name + ": max abs diff " + max);
            }
            assertEquals(DType.F32, a.storedDType());
            assertTrue(a.source().startsWith("llama2.c"), a.source());
            assertTrue(b.source().startsWith("safetensors"), b.source());
            assertEquals(a.lmHead(), a.weight(LlamaWeights.EMBED_TOKENS));
        }
    }

    @Test
    void llama2cDirectoryIsFound() {
        Path dir = Fixtures.require("models/stories260K");
        try (LlamaCheckpoint c = CheckpointLoader.load(dir)) {
            assertTrue(c.source().contains("stories260K.bin"));
        }
    }

    @Test
    void permutation() {
        // 1 head of size 6, 2 inputs: rows [0..5] -> [0,2,4,1,3,5]
        try (Arena arena = new Arena(); Tensor src = Tensor.of(new float[] {0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17}, 6, 2)) {
            Tensor dst = CheckpointLoader.permuteRotary(arena, src, 1, 6, 2);
            assertArrayEquals(new float[] {0, 1, 10, 11, 14, 15, 2, 3, 12, 13, 16, 17}, dst.toFloatArray());
        }
    }

    /** Copies stories260K-hf into tmp, with the safetensors rewritten by {@code edit}. */
    private Path copyHf(java.util.function.Consumer<Map<String, Tensor>> edit, DType storeAs) throws IOException {
        Path src = Fixtures.require("models/stories260K-hf");
        Files.copy(src.resolve("config.json"), tmp.resolve("config.json"));
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            Map<String, Tensor> m = new LinkedHashMap<>(f.tensors());
            edit.accept(m);
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), m, storeAs, Map.of("format", "pt"));
        }
        return tmp;
    }

    @Test
    void bf16CheckpointLoadsConverted() throws IOException {
        Path dir = copyHf(m -> {}, DType.BF16);
        try (LlamaCheckpoint c = CheckpointLoader.load(dir);
             LlamaCheckpoint ref = CheckpointLoader.load(Fixtures.require("models/stories260K-hf"))) {
            assertEquals(DType.BF16, c.storedDType());
            float[] x = c.weight(LlamaWeights.q(2)).toFloatArray(), y = ref.weight(LlamaWeights.q(2)).toFloatArray();
            for (int i = 0; i < x.length; i++) assertEquals(y[i], x[i], Math.abs(y[i]) / 128 + 1e-30);
        }
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path dir = copyHf(m -> m.remove(LlamaWeights.o(3)), DType.F32);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CheckpointLoader.load(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("model.safetensors") + ": missing tensor '"
                + LlamaWeights.o(3) + "' (expected shape [64, 64]"), e.getMessage());
    }

    @Test
    void wrongShapeIsNamed() throws IOException {
        Tensor wrong = Tensor.zeros(32, 64);
        try {
            Path dir = copyHf(m -> m.put(LlamaWeights.q(1), wrong), DType.F32);
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> CheckpointLoader.load(dir));
            assertEquals(dir.resolve("model.safetensors") + ": tensor '" + LlamaWeights.q(1)
                    + "' has shape [32, 64], expected [64, 64] from " + dir.resolve("config.json"), e.getMessage());
        } finally {
            wrong.close();
        }
    }

    @Test
    void untiedNeedsLmHead() throws IOException {
        Path dir = copyHf(m -> {}, DType.F32);
        String cfg = Files.readString(dir.resolve("config.json")).replace("\"tie_word_embeddings\": true",
                "\"tie_word_embeddings\": false");
        assertTrue(cfg.contains("false"));
        Files.writeString(dir.resolve("config.json"), cfg);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CheckpointLoader.load(dir));
        assertTrue(e.getMessage().contains("missing tensor 'lm_head.weight'"), e.getMessage());
    }

    @Test
    void corruptLlama2c() throws IOException {
        byte[] all = Files.readAllBytes(Fixtures.require("models/stories260K/stories260K.bin"));
        Path cut = tmp.resolve("cut.bin");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 100));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CheckpointLoader.load(cut));
        assertTrue(e.getMessage().startsWith(cut + ": llama2.c header (dim=64"), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Path junk = tmp.resolve("junk.bin");
        Files.write(junk, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                24, 25, 26, 27, 28, 29, 30});
        e = assertThrows(ModelFormatException.class, () -> CheckpointLoader.load(junk));
        assertTrue(e.getMessage().startsWith(junk + ": not a llama2.c checkpoint"), e.getMessage());
        Path tiny = tmp.resolve("tiny.bin");
        Files.write(tiny, new byte[] {1});
        e = assertThrows(ModelFormatException.class, () -> CheckpointLoader.load(tiny));
        assertTrue(e.getMessage().startsWith(tiny + ": file is 1 bytes"), e.getMessage());
        Path empty = tmp.resolve("emptydir");
        Files.createDirectories(empty);
        e = assertThrows(ModelFormatException.class, () -> CheckpointLoader.load(empty));
        assertTrue(e.getMessage().startsWith(empty + ": not a model directory"), e.getMessage());
        assertFalse(CheckpointLoader.looksLikeLlama2c(Fixtures.require("models/stories260K/tok512.bin")));
    }
}
