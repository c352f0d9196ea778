package io.tune4j.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An independent GGUF v3 reader for tests: metadata as Java values, tensor infos and data. */
final class GgufReader {
    record TensorInfo(String name, long[] ne, int type, long offset) {}

    final int version;
    final Map<String, Object> kv = new LinkedHashMap<>();
    final Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    final long dataStart;
    final long fileSize;
    private final ByteBuffer b;

    GgufReader(Path file) throws IOException {
        b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        fileSize = b.capacity();
        byte[] magic = new byte[4];
        b.get(magic);
        if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) throw new IOException("bad magic");
        version = b.getInt();
        long nt = b.getLong(), nkv = b.getLong();
        for (long i = 0; i < nkv; i++) {
            String k = str();
            kv.put(k, value(b.getInt()));
        }
        for (long i = 0; i < nt; i++) {
            String name = str();
            int nd = b.getInt();
            long[] ne = new long[nd];
            for (int d = 0; d < nd; d++) ne[d] = b.getLong();
            tensors.put(name, new TensorInfo(name, ne, b.getInt(), b.getLong()));
        }
        long align = kv.containsKey("general.alignment") ? ((Number) kv.get("general.alignment")).longValue() : 32;
        dataStart = (b.position() + align - 1) / align * align;
    }

    private String str() {
        byte[] s = new byte[Math.toIntExact(b.getLong())];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private Object value(int type) {
        return switch (type) {
            case 0, 1 -> b.get();
            case 2, 3 -> b.getShort();
            case 4 -> (long) b.getInt() & 0xffffffffL;
            case 5 -> b.getInt();
            case 6 -> b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> str();
            case 9 -> {
                int et = b.getInt();
                long n = b.getLong();
                List<Object> l = new ArrayList<>();
                for (long i = 0; i < n; i++) l.add(value(et));
                yield l;
            }
            case 10, 11 -> b.getLong();
            case 12 -> b.getDouble();
            default -> throw new IllegalStateException("value type " + type);
        };
    }

    /** A tensor's values as floats, decoded from f32, f16, bf16 or q8_0, in ggml order (ne0 fastest). */
    float[] floats(String name) {
        TensorInfo t = tensors.get(name);
        long n = 1;
        for (long d : t.ne) n *= d;
        float[] out = new float[Math.toIntExact(n)];
        ByteBuffer d = b.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(Math.toIntExact(dataStart + t.offset));
        switch (t.type) {
            case 0 -> {
                for (int i = 0; i < n; i++) out[i] = d.getFloat();
            }
            case 1 -> {
                for (int i = 0; i < n; i++) out[i] = TensorEncoder.fromHalf(d.getShort());
            }
            case 30 -> {
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((d.getShort() & 0xffff) << 16);
            }
            case 8 -> {
                for (int blk = 0; blk < n; blk += 32) {
                    float s = TensorEncoder.fromHalf(d.getShort());
                    for (int i = 0; i < 32; i++) out[blk + i] = s * d.get();
                }
            }
            default -> throw new IllegalStateException("tensor type " + t.type);
        }
        return out;
    }
}
