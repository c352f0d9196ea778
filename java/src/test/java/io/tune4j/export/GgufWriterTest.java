package io.tune4j.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GGUF container and the value encodings, read back by an independent reader. */
class GgufWriterTest {
    @TempDir
    Path tmp;

    private static GgufWriter.RowReader matrix(float[][] m) {
        return (r, dst) -> System.arraycopy(m[r], 0, dst, 0, m[r].length);
    }

    @Test
    void headerMetadataAndTensorsReadBack() throws IOException {
        float[][] a = new float[3][5];
        for (int r = 0; r < 3; r++) for (int c = 0; c < 5; c++) a[r][c] = r * 10 + c;
        float[] v = {1.5f, -2f, 3.25f};
        float[][] q = new float[2][64];
        for (int r = 0; r < 2; r++) for (int c = 0; c < 64; c++) q[r][c] = (float) Math.sin(r * 64 + c);
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama").putU32("n", 4000000000L)
                .putF32("eps", 1e-5f).putBool("yes", true).putStrings("toks", List.of("a", "▁b", "<0x0A>"))
                .putF32s("scores", new float[] {0f, -1f}).putI32s("types", new int[] {1, 3, 6})
                .putU32("general.alignment", GgufWriter.ALIGNMENT);
        w.addMatrix("a", 3, 5, GgufType.F32, () -> matrix(a));
        w.addVector("v", 3, () -> (r, dst) -> System.arraycopy(v, 0, dst, 0, 3));
        w.addMatrix("q", 2, 64, GgufType.Q8_0, () -> matrix(q));
        w.addMatrix("h", 3, 5, GgufType.F16, () -> matrix(a));
        Path f = tmp.resolve("t.gguf");
        w.write(f);

        GgufReader g = new GgufReader(f);
        assertEquals(3, g.version);
        assertEquals("llama", g.kv.get("general.architecture"));
        assertEquals(4000000000L, g.kv.get("n"));
        assertEquals(1e-5f, g.kv.get("eps"));
        assertEquals(true, g.kv.get("yes"));
        assertEquals(List.of("a", "▁b", "<0x0A>"), g.kv.get("toks"));
        assertEquals(List.of(0f, -1f), g.kv.get("scores"));
        assertEquals(List.of(1, 3, 6), g.kv.get("types"));
        assertEquals(List.of("a", "v", "q", "h"), List.copyOf(g.tensors.keySet()));
        // ggml lists dims fastest first: a row-major [3, 5] matrix is ne = {5, 3}
        assertArrayEquals(new long[] {5, 3}, g.tensors.get("a").ne());
        assertArrayEquals(new long[] {3}, g.tensors.get("v").ne());
        assertEquals(0, g.dataStart % 32);
        for (GgufReader.TensorInfo t : g.tensors.values()) assertEquals(0, t.offset() % 32, t.name());
        assertEquals(8, g.tensors.get("q").type());
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24}, g.floats("a"));
        assertArrayEquals(g.floats("a"), g.floats("h"));
        assertArrayEquals(v, g.floats("v"));
        float[] dq = g.floats("q");
        for (int i = 0; i < 128; i++) {
            float x = q[i / 64][i % 64];
            // |error| <= d/2 with d = max|x|/127 <= 1/127 here, plus the f16 rounding of d
            assertEquals(x, dq[i], 0.5f / 127 + 1e-3f, "element " + i);
        }
        assertEquals(g.dataStart + g.tensors.get("h").offset() + 32, g.fileSize, "last tensor padded to the alignment");
        assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f)),
                "readable by the programs it is exported for");
    }

    @Test
    void halfAndBfloat16RoundToNearestEven() {
        assertEquals((short) 0x3c00, TensorEncoder.toHalf(1f));
        assertEquals((short) 0xc000, TensorEncoder.toHalf(-2f));
        assertEquals((short) 0x7bff, TensorEncoder.toHalf(65504f));
        assertEquals((short) 0x7c00, TensorEncoder.toHalf(70000f));
        assertEquals((short) 0x0001, TensorEncoder.toHalf(5.9604645e-8f));      // smallest subnormal
        assertEquals((short) 0x0000, TensorEncoder.toHalf(2.9802322e-8f));      // half of it: ties to even (0)
        assertEquals((short) 0x3c00, TensorEncoder.toHalf(1f + 0x1p-11f));       // tie between 1 and 1+2^-10: even
        assertEquals((short) 0x3c02, TensorEncoder.toHalf(1f + 3 * 0x1p-11f));   // tie: rounds up to even
        assertTrue(Float.isNaN(TensorEncoder.fromHalf(TensorEncoder.toHalf(Float.NaN))));
        for (float x : new float[] {0.1f, -3.14159f, 1e-6f, 1234.5f}) {
            assertEquals(x, TensorEncoder.fromHalf(TensorEncoder.toHalf(x)), Math.abs(x) / 1024 + 1e-7f);
        }
        assertEquals((short) 0x3f80, TensorEncoder.toBfloat16(1f));
        assertEquals((short) 0x3f80, TensorEncoder.toBfloat16(Float.intBitsToFloat(0x3f808000)));  // tie: even
        assertEquals((short) 0x3f82, TensorEncoder.toBfloat16(Float.intBitsToFloat(0x3f818000)));  // tie: even (up)
    }

    @Test
    void q8BlockIsScaleThenRoundedInts() {
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) x[i] = (i - 16) * 0.25f;  // max |x| = 4
        ByteBuffer b = ByteBuffer.allocate(34).order(ByteOrder.LITTLE_ENDIAN);
        TensorEncoder.encode(x, 0, 32, GgufType.Q8_0, b);
        float d = TensorEncoder.fromHalf(b.getShort(0));
        assertEquals(4f / 127, d, 1e-5f);
        assertEquals(-127, b.get(2));                       // -4 / d
        assertEquals(0, b.get(2 + 16));
        assertEquals(Math.round(3.75f / (4f / 127)), b.get(2 + 31));
        ByteBuffer z = ByteBuffer.allocate(34).order(ByteOrder.LITTLE_ENDIAN);
        TensorEncoder.encode(new float[32], 0, 32, GgufType.Q8_0, z);
        for (int i = 0; i < 34; i++) assertEquals(0, z.get(i), "an all-zero block encodes as zeros");
    }

    @Test
    void rowsNotWholeBlocksAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GgufWriter().addMatrix("blk.0.ffn_down.weight", 4, 172, GgufType.Q8_0, () -> matrix(new float[4][172])));
        assertTrue(e.getMessage().contains("blk.0.ffn_down.weight"), e.getMessage());
    }

    @Test
    void interleavedRowOrderSwapsHalvesIntoPairs() {
        // one head of 4 rows in rotate-half order [x0 x1 | y0 y1] -> interleaved pairs (x0 y0)(x1 y1)
        assertArrayEquals(new int[] {0, 2, 1, 3}, LlamaGgufMapping.interleavedRowOrder(1, 4));
        assertArrayEquals(new int[] {0, 2, 1, 3, 4, 6, 5, 7}, LlamaGgufMapping.interleavedRowOrder(2, 8));
    }

    @Test
    void aFailedWriteKeepsTheOldFileAndLeavesNoTemporary() throws IOException {
        Path f = tmp.resolve("m.gguf");
        Files.writeString(f, "old");
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
        w.addMatrix("ok", 2, 32, GgufType.F32, () -> matrix(new float[2][32]));
        w.addMatrix("bad", 2, 32, GgufType.F32, () -> (r, dst) -> {
            throw new IllegalStateException("disk on fire");
        });
        assertThrows(IllegalStateException.class, () -> w.write(f));
        assertEquals("old", Files.readString(f));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(f), s.toList());
        }
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> w.write(tmp.resolve("no/such/dir/x.gguf")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void llama3RopeFactorsAreOneForShortAndFactorForLongWavelengths() {
        float[] f = GgufExporter.llama3RopeFactors(
                new io.tune4j.ops.RopeScaling(500000f, io.tune4j.ops.RopeScaling.Type.LLAMA3, 8f, 1f, 4f, 8192), 128);
        assertEquals(64, f.length);
        assertEquals(1f, f[0]);
        assertEquals(8f, f[63]);
        for (int i = 1; i < 64; i++) assertTrue(f[i] >= f[i - 1], "non-decreasing at " + i);
    }
}
