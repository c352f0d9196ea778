package io.tune4j.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path tmp;

    private static Tensor random(Random r, long... shape) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    @Test
    void roundTripF32AndBf16() throws IOException {
        Random r = new Random(1);
        try (Tensor a = random(r, 3, 5); Tensor b = random(r, 7); Tensor c = random(r, 2, 3, 4)) {
            Path f = tmp.resolve("x.safetensors");
            new SafetensorsWriter().metadata("format", "pt").add("a", a).add("b", b, DType.BF16).add("c", c).write(f);
            long headerLen = readHeaderLength(f);
            assertEquals(0, headerLen % 8, "header padded to 8 bytes");
            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                assertEquals(Map.of("format", "pt"), sf.metadata());
                assertEquals("BF16", sf.info("b").dtype());
                assertArrayEquals(new long[] {3, 5}, sf.tensor("a").shape());
                assertArrayEquals(a.toFloatArray(), sf.tensor("a").toFloatArray());
                assertArrayEquals(c.toFloatArray(), sf.tensor("c").toFloatArray());
                float[] bb = sf.tensor("b").toFloatArray(), want = b.toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], bb[i], Math.abs(want[i]) / 128 + 1e-30, "bf16 value " + i);
                }
                assertEquals(DType.F32, sf.tensor("b").dtype());
            }
            // no temp files left behind
            try (var s = Files.list(tmp)) {
                assertEquals(1, s.count());
            }
            // overwrite is atomic and replaces the old file
            new SafetensorsWriter().add("only", b).write(f);
            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                assertEquals(java.util.Set.of("only"), sf.names());
            }
        }
    }

    @Test
    void staticWriteF16() {
        Random r = new Random(2);
        try (Tensor a = random(r, 4, 4)) {
            Path f = tmp.resolve("h.safetensors");
            SafetensorsWriter.write(f, Map.of("a", a), DType.F16, null);
            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                float[] got = sf.tensor("a").toFloatArray(), want = a.toFloatArray();
                for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], Math.abs(want[i]) / 1000 + 1e-4);
            }
        }
    }

    @Test
    void readsFixture() {
        Path f = Fixtures.require("models/stories260K-hf/model.safetensors");
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals("pt", sf.metadata().get("format"));
            Tensor emb = sf.tensor("model.embed_tokens.weight");
            assertArrayEquals(new long[] {512, 64}, emb.shape());
            assertEquals(DType.F32, emb.dtype());
            assertTrue(sf.names().contains("model.layers.4.mlp.down_proj.weight"));
            assertArrayEquals(new long[] {64, 172}, sf.info("model.layers.4.mlp.down_proj.weight").shape());
            assertTrue(Float.isFinite(emb.get(0)));
        }
    }

    @Test
    void shardedIndex() throws IOException {
        Random r = new Random(3);
        try (Tensor a = random(r, 2, 2); Tensor b = random(r, 3)) {
            new SafetensorsWriter().add("a", a).write(tmp.resolve("model-00001-of-00002.safetensors"));
            new SafetensorsWriter().add("b", b).write(tmp.resolve("model-00002-of-00002.safetensors"));
            Files.writeString(tmp.resolve(SafetensorsShards.INDEX), "{\"metadata\":{},\"weight_map\":{"
                    + "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
            try (SafetensorsShards s = SafetensorsShards.open(tmp)) {
                assertEquals(2, s.files().size());
                assertArrayEquals(a.toFloatArray(), s.tensor("a").toFloatArray());
                assertArrayEquals(b.toFloatArray(), s.tensor("b").toFloatArray());
            }
            Files.writeString(tmp.resolve(SafetensorsShards.INDEX), "{\"weight_map\":{"
                    + "\"a\":\"model-00002-of-00002.safetensors\"}}");
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsShards.open(tmp));
            assertMessage(e, tmp.resolve(SafetensorsShards.INDEX), "'a'", "no such tensor");
            Files.writeString(tmp.resolve(SafetensorsShards.INDEX), "{\"weight_map\":{\"a\":\"missing.safetensors\"}}");
            e = assertThrows(ModelFormatException.class, () -> SafetensorsShards.open(tmp));
            assertMessage(e, tmp.resolve(SafetensorsShards.INDEX), "missing.safetensors", "does not exist");
        }
    }

    // ---------------------------------------------------------------- corrupt files

    private static long readHeaderLength(Path f) {
        try {
            byte[] b = Files.readAllBytes(f);
            return ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** Writes a raw file: 8-byte length, header text, then dataBytes zero bytes. */
    private Path raw(String name, long declaredLen, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLen).put(h);
        Path p = tmp.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private Path raw(String name, String header, int dataBytes) throws IOException {
        return raw(name, header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private static void assertMessage(Exception e, Path file, String... parts) {
        String m = e.getMessage();
        assertNotNull(m);
        assertTrue(m.startsWith(file.toString() + ":"), "message should start with the path: " + m);
        for (String p : parts) assertTrue(m.contains(p), "message should mention '" + p + "': " + m);
    }

    private ModelFormatException openFails(Path p) {
        return assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(p).close());
    }

    @Test
    void headerLengthLargerThanFile() throws IOException {
        Path p = raw("big.safetensors", 1_000_000, "{}", 0);
        assertMessage(openFails(p), p, "header length 1000000", "exceeds the file size");
    }

    @Test
    void headerLengthAbsurd() throws IOException {
        Path p = raw("neg.safetensors", -5, "{}", 0);
        assertMessage(openFails(p), p, "header length -5");
        Path q = raw("huge.safetensors", Long.MAX_VALUE, "{}", 0);
        assertMessage(openFails(q), q, "header length", "exceeds the file size");
    }

    @Test
    void tooSmall() throws IOException {
        Path p = tmp.resolve("tiny.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        assertMessage(openFails(p), p, "too small");
        Path empty = tmp.resolve("empty.safetensors");
        Files.write(empty, new byte[0]);
        assertMessage(openFails(empty), empty, "too small");
    }

    @Test
    void missingFile() {
        Path p = tmp.resolve("nope.safetensors");
        assertMessage(openFails(p), p, "not found");
    }

    @Test
    void headerNotJson() throws IOException {
        Path p = raw("junk.safetensors", "this is not json", 0);
        assertMessage(openFails(p), p, "header is not valid JSON");
        Path q = raw("array.safetensors", "[1,2]", 0);
        assertMessage(openFails(q), q, "header is not valid JSON", "object");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        Path p = raw("oor.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[100,116]}}", 16);
        assertMessage(openFails(p), p, "'w'", "out of range", "16 bytes");
    }

    @Test
    void offsetsMisorderedOrOverlapping() throws IOException {
        Path p = raw("mis.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 16);
        assertMessage(openFails(p), p, "'w'", "misordered");
        Path q = raw("ovl.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16);
        assertMessage(openFails(q), q, "'a'", "'b'", "overlap");
    }

    @Test
    void dtypeShapeMismatch() throws IOException {
        Path p = raw("shape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 16);
        assertMessage(openFails(p), p, "'w'", "[2, 3]", "24 bytes", "span 16 bytes");
    }

    @Test
    void unknownAndUnsupportedDtype() throws IOException {
        Path p = raw("dt.safetensors", "{\"w\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16);
        assertMessage(openFails(p), p, "'w'", "unknown dtype 'Q4'");
        Path q = raw("i64.safetensors", "{\"w\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16);
        try (SafetensorsFile sf = SafetensorsFile.open(q)) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> sf.tensor("w"));
            assertMessage(e, q, "'w'", "I64", "F32, F16 and BF16");
        }
    }

    @Test
    void truncatedFile() throws IOException {
        Random r = new Random(4);
        try (Tensor a = random(r, 8, 8)) {
            Path f = tmp.resolve("t.safetensors");
            new SafetensorsWriter().add("a", a).write(f);
            byte[] all = Files.readAllBytes(f);
            Path cut = tmp.resolve("cut.safetensors");
            Files.write(cut, java.util.Arrays.copyOf(all, all.length - 10));
            assertMessage(openFails(cut), cut, "'a'", "out of range", "truncated");
            Path cutHeader = tmp.resolve("cuthdr.safetensors");
            Files.write(cutHeader, java.util.Arrays.copyOf(all, 20));
            assertMessage(openFails(cutHeader), cutHeader, "header length", "exceeds the file size");
        }
    }

    @Test
    void badFieldTypes() throws IOException {
        Path p = raw("neg.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
        assertMessage(openFails(p), p, "'w'", "non-negative");
        Path q = raw("noff.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4);
        assertMessage(openFails(q), q, "'w'", "data_offsets");
        Path m = raw("meta.safetensors", "{\"__metadata__\":{\"a\":1}}", 0);
        assertMessage(openFails(m), m, "__metadata__");
        Path d = raw("dup.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        assertMessage(openFails(d), d, "not valid JSON", "Duplicate");
    }

    @Test
    void writerOrderAndMetadata() {
        Random r = new Random(5);
        try (Tensor a = random(r, 3); Tensor b = random(r, 1)) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("z", a);
            m.put("y", b);
            Path f = tmp.resolve("o.safetensors");
            SafetensorsWriter.write(f, m, DType.F32, Map.of("k", "v"));
            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                assertEquals(java.util.List.of("z", "y"), java.util.List.copyOf(sf.names()));
                assertEquals(0, sf.info("z").begin());
                assertEquals(12, sf.info("y").begin());
            }
            assertThrows(IllegalArgumentException.class, () -> new SafetensorsWriter().add("z", a).add("z", b));
        }
    }
}
