package io.tune4j.model.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.runtime.NativeLib;
import io.tune4j.runtime.NativeMemory;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One memory-mapped .safetensors file (MAP_PRIVATE, so writes to F32 weights never reach the
 * file). The header is validated completely on {@link #open}; tensors are materialised lazily by
 * {@link #tensor}: F32 as zero-copy views over the mapping, F16/BF16 converted into owned F32
 * tensors. Every tensor returned belongs to this file and is invalid once it is closed.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest header accepted; real headers are a few hundred KiB at most. */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** Element sizes of every safetensors dtype (only F32, F16 and BF16 can be loaded). */
    static final Map<String, Integer> DTYPE_SIZES = Map.ofEntries(
            Map.entry("BOOL", 1), Map.entry("U8", 1), Map.entry("I8", 1), Map.entry("F8_E5M2", 1),
            Map.entry("F8_E4M3", 1), Map.entry("I16", 2), Map.entry("U16", 2), Map.entry("F16", 2),
            Map.entry("BF16", 2), Map.entry("I32", 4), Map.entry("U32", 4), Map.entry("F32", 4),
            Map.entry("F64", 8), Map.entry("I64", 8), Map.entry("U64", 8));

    /** Header entry of one tensor; offsets are relative to the start of the data section. */
    public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {
        public long[] shape() {
            return shape.clone();
        }

        public long bytes() {
            return end - begin;
        }

        /** The tune4j storage type, or null when the dtype cannot be loaded (I64, F64, ...). */
        public DType storageType() {
            return switch (dtype) {
                case "F32" -> DType.F32;
                case "F16" -> DType.F16;
                case "BF16" -> DType.BF16;
                default -> null;
            };
        }

        @Override
        public String toString() {
            return name + ":" + dtype + Arrays.toString(shape);
        }
    }

    private final Path path;
    private final Map<String, TensorInfo> infos; // in data order
    private final Map<String, String> metadata;
    private final long mapAddress;
    private final long mapSize;
    private final long dataAddress;
    private final Arena owned = new Arena();
    private final Map<String, Tensor> loaded = new HashMap<>();
    private boolean closed;

    private SafetensorsFile(Path path, Map<String, TensorInfo> infos, Map<String, String> metadata,
                            long mapAddress, long mapSize, long dataOffset) {
        this.path = path;
        this.infos = infos;
        this.metadata = metadata;
        this.mapAddress = mapAddress;
        this.mapSize = mapSize;
        this.dataAddress = mapAddress + dataOffset;
    }

    /** Opens and validates a .safetensors file; throws {@link ModelFormatException} naming the problem. */
    public static SafetensorsFile open(Path path) {
        Header header = readHeader(path);
        long[] sizeOut = new long[1];
        long addr = NativeMemory.map(path.toString(), sizeOut);
        if (addr == 0) throw new ModelFormatException(path, "memory-mapping the file failed (unreadable?)");
        if (sizeOut[0] != header.fileSize) {
            NativeMemory.unmap(addr, sizeOut[0]);
            throw new ModelFormatException(path, "file changed size while opening (" + header.fileSize
                    + " -> " + sizeOut[0] + " bytes)");
        }
        return new SafetensorsFile(path, header.infos, header.metadata, addr, sizeOut[0], 8 + header.headerLength);
    }

    /** Reads and validates only the header (no mapping); useful for inspecting a file. */
    public static Map<String, TensorInfo> readInfos(Path path) {
        return readHeader(path).infos;
    }

    private record Header(long fileSize, long headerLength, Map<String, TensorInfo> infos, Map<String, String> metadata) {}

    private static Header readHeader(Path path) {
        long fileSize;
        byte[] headerBytes;
        long n;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            fileSize = ch.size();
            if (fileSize < 8) {
                throw new ModelFormatException(path, "file is " + fileSize
                        + " bytes, too small for a safetensors file (expected an 8-byte header length, a JSON header and data)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            n = lenBuf.getLong(0);
            if (n <= 1) {
                throw new ModelFormatException(path, "header length " + n + " is invalid (expected a positive length of a JSON object)");
            }
            if (n > fileSize - 8) {
                throw new ModelFormatException(path, "header length " + n + " exceeds the file size of " + fileSize
                        + " bytes (not a safetensors file, or truncated)");
            }
            if (n > MAX_HEADER_BYTES) {
                throw new ModelFormatException(path, "header length " + n + " is absurd (limit " + MAX_HEADER_BYTES
                        + " bytes); not a safetensors file?");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8);
            headerBytes = hb.array();
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(path, "file not found");
        } catch (IOException e) {
            throw new ModelFormatException(path, "cannot read: " + e, e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(path, "header is not valid JSON (not UTF-8 text)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (IOException e) {
            throw new ModelFormatException(path, "header is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(path, "header is not valid JSON: expected a JSON object, got "
                    + (root == null ? "nothing" : root.getNodeType()));
        }
        long dataSize = fileSize - 8 - n;
        Map<String, String> metadata = Map.of();
        List<TensorInfo> list = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                metadata = parseMetadata(path, e.getValue());
            } else {
                list.add(parseInfo(path, e.getKey(), e.getValue(), dataSize));
            }
        }
        list.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < list.size(); i++) {
            TensorInfo a = list.get(i - 1), b = list.get(i);
            if (b.begin < a.end) {
                throw new ModelFormatException(path, "data_offsets of tensors '" + a.name + "' [" + a.begin + ", " + a.end
                        + "] and '" + b.name + "' [" + b.begin + ", " + b.end + "] overlap");
            }
        }
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        for (TensorInfo t : list) infos.put(t.name, t);
        return new Header(fileSize, n, Collections.unmodifiableMap(infos), metadata);
    }

    private static Map<String, String> parseMetadata(Path path, JsonNode node) {
        if (!node.isObject()) throw new ModelFormatException(path, "__metadata__ must be an object of strings");
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new ModelFormatException(path, "__metadata__ value of '" + e.getKey() + "' must be a string, got "
                        + e.getValue().getNodeType());
            }
            m.put(e.getKey(), e.getValue().asText());
        }
        return Collections.unmodifiableMap(m);
    }

    private static TensorInfo parseInfo(Path path, String name, JsonNode node, long dataSize) {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) throw new ModelFormatException(path, where + ": expected an object with dtype, shape and data_offsets");
        JsonNode dt = node.get("dtype"), sh = node.get("shape"), off = node.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw new ModelFormatException(path, where + ": missing or non-string 'dtype'");
        String dtype = dt.asText();
        Integer elem = DTYPE_SIZES.get(dtype);
        if (elem == null) {
            throw new ModelFormatException(path, where + ": unknown dtype '" + dtype + "' (expected F32, F16 or BF16)");
        }
        if (sh == null || !sh.isArray()) throw new ModelFormatException(path, where + ": missing or non-array 'shape'");
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToExactIntegral() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new ModelFormatException(path, where + ": shape " + sh + " must hold non-negative integers");
            }
            shape[i] = d.asLong();
        }
        if (off == null || !off.isArray() || off.size() != 2) {
            throw new ModelFormatException(path, where + ": 'data_offsets' must be [begin, end]");
        }
        for (JsonNode o : off) {
            if (!o.canConvertToExactIntegral() || !o.canConvertToLong() || o.asLong() < 0) {
                throw new ModelFormatException(path, where + ": data_offsets " + off + " must be non-negative integers");
            }
        }
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (end < begin) {
            throw new ModelFormatException(path, where + ": data_offsets [" + begin + ", " + end + "] are misordered (end < begin)");
        }
        long bytes;
        try {
            long numel = 1;
            for (long s : shape) numel = Math.multiplyExact(numel, s);
            bytes = Math.multiplyExact(numel, (long) elem);
        } catch (ArithmeticException e) {
            throw new ModelFormatException(path, where + ": shape " + Arrays.toString(shape) + " overflows");
        }
        if (bytes != end - begin) {
            throw new ModelFormatException(path, where + ": shape " + Arrays.toString(shape) + " x " + dtype + " (" + elem
                    + " bytes) = " + bytes + " bytes, but data_offsets [" + begin + ", " + end + "] span " + (end - begin)
                    + " bytes");
        }
        if (end > dataSize) {
            throw new ModelFormatException(path, where + ": data_offsets [" + begin + ", " + end
                    + "] out of range: the data section holds only " + dataSize + " bytes (file truncated?)");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) throw new IOException("unexpected end of file");
            pos += r;
        }
    }

    static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public Path path() {
        return path;
    }

    /** Tensor names in data order. */
    public Set<String> names() {
        return infos.keySet();
    }

    public boolean contains(String name) {
        return infos.containsKey(name);
    }

    /** Header entry of a tensor, or null when absent. */
    public TensorInfo info(String name) {
        return infos.get(name);
    }

    public Map<String, TensorInfo> infos() {
        return infos;
    }

    /** The optional __metadata__ map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The tensor as F32: a zero-copy view over the mapping for F32 data, or an owned converted
     * copy for F16/BF16. Owned by this file; repeated calls return the same tensor.
     */
    public synchronized Tensor tensor(String name) {
        if (closed) throw new IllegalStateException(path + ": file is closed");
        Tensor t = loaded.get(name);
        if (t != null) return t;
        TensorInfo info = infos.get(name);
        if (info == null) throw new ModelFormatException(path, "no tensor named '" + name + "'");
        DType st = info.storageType();
        if (st == null) {
            throw new ModelFormatException(path, "tensor '" + name + "' has dtype " + info.dtype
                    + "; only F32, F16 and BF16 tensors can be loaded");
        }
        long src = dataAddress + info.begin;
        long numel = info.bytes() / st.bytes();
        if (st == DType.F32 && src % 4 == 0) {
            t = Tensor.wrap(src, DType.F32, Device.CPU, info.shape);
        } else {
            t = owned.allocate(DType.F32, info.shape);
            if (numel > 0) {
                if (src % st.bytes() != 0) {
                    // misaligned source: stage the raw elements in an aligned buffer first
                    try (Tensor tmp = Tensor.allocate(st, numel)) {
                        RawMemory.copy(tmp.address(), src, info.bytes());
                        convert(st, t.address(), tmp.address(), numel);
                    }
                } else {
                    convert(st, t.address(), src, numel);
                }
            }
        }
        loaded.put(name, t);
        return t;
    }

    private static void convert(DType st, long dst, long src, long n) {
        switch (st) {
            case F32 -> RawMemory.copy(dst, src, n * 4);
            case F16 -> NativeLib.t4j_f16_to_f32(dst, src, n);
            case BF16 -> NativeLib.t4j_bf16_to_f32(dst, src, n);
            default -> throw new IllegalArgumentException(st.toString());
        }
    }

    /** All loadable tensors, in data order. */
    public Map<String, Tensor> tensors() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String n : infos.keySet()) m.put(n, tensor(n));
        return m;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            owned.close();
        } finally {
            for (Tensor t : loaded.values()) t.close();
            loaded.clear();
            NativeMemory.unmap(mapAddress, mapSize);
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + infos.size() + " tensors]";
    }
}
