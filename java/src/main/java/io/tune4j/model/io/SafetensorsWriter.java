package io.tune4j.model.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a .safetensors file from CPU tensors, stored as F32, BF16 or F16. The header is padded
 * with spaces to a multiple of 8 bytes; data is contiguous in insertion order. The file is
 * written to a temporary file in the target directory, fsynced, then atomically renamed, so a
 * reader never sees a half-written file.
 *
 * <pre>{@code
 * new SafetensorsWriter().metadata("format", "pt").add("w", tensor).add("b", bias, DType.BF16).write(path);
 * }</pre>
 */
public final class SafetensorsWriter {
    private static final int CHUNK_BYTES = 1 << 24;

    private record Item(String name, Tensor tensor, DType storeAs) {}

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Item> items = new LinkedHashMap<>();
    private io.tune4j.ops.Ops staging;

    /**
     * Lets {@link #add} take tensors of this backend (a CUDA model's weights): each is copied to a host
     * tensor as it is written and freed after, so a save holds one tensor's host copy at a time. Host
     * tensors are written in place as always.
     */
    public SafetensorsWriter stagingFrom(io.tune4j.ops.Ops backend) {
        this.staging = backend;
        return this;
    }

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public SafetensorsWriter metadata(Map<String, String> values) {
        metadata.putAll(values);
        return this;
    }

    /** Adds a tensor stored in its own dtype (F32, BF16 or F16). */
    public SafetensorsWriter add(String name, Tensor tensor) {
        return add(name, tensor, tensor.dtype());
    }

    /** Adds a tensor stored as {@code storeAs}: F32 tensors may be stored as F32, BF16 or F16. */
    public SafetensorsWriter add(String name, Tensor tensor, DType storeAs) {
        if (name == null || name.isEmpty() || name.equals("__metadata__")) {
            throw new IllegalArgumentException("invalid tensor name '" + name + "'");
        }
        if (items.containsKey(name)) throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        if (tensor.isClosed()) throw new IllegalArgumentException("tensor '" + name + "' is closed");
        if (tensor.device() != Device.CPU && (staging == null || staging.device() != tensor.device())) {
            throw new IllegalArgumentException("tensor '" + name + "' is on " + tensor.device());
        }
        if (storeAs == DType.I32 || (tensor.dtype() != storeAs && tensor.dtype() != DType.F32)) {
            throw new IllegalArgumentException("tensor '" + name + "': cannot store " + tensor.dtype() + " as " + storeAs);
        }
        items.put(name, new Item(name, tensor, storeAs));
        return this;
    }

    /** Writes all tensors with one storage type. */
    public static void write(Path path, Map<String, Tensor> tensors, DType storeAs, Map<String, String> metadata) {
        SafetensorsWriter w = new SafetensorsWriter();
        if (metadata != null) w.metadata(metadata);
        tensors.forEach((n, t) -> w.add(n, t, storeAs));
        w.write(path);
    }

    static String dtypeName(DType d) {
        return switch (d) {
            case F32 -> "F32";
            case BF16 -> "BF16";
            case F16 -> "F16";
            case I32 -> "I32";
        };
    }

    /** Builds the header bytes, padded with spaces to a multiple of 8. */
    byte[] header() {
        ObjectNode root = SafetensorsFile.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Item it : items.values()) {
            ObjectNode o = root.putObject(it.name);
            o.put("dtype", dtypeName(it.storeAs));
            ArrayNode shape = o.putArray("shape");
            for (long s : it.tensor.shape()) shape.add(s);
            long bytes = it.tensor.numel() * it.storeAs.bytes();
            o.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json;
        try {
            json = SafetensorsFile.JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (json.length + 7) & ~7;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) out[i] = ' ';
        return out;
    }

    /** Writes the file atomically; throws {@link UncheckedIOException} (message names the path) on I/O failure. */
    public void write(Path path) {
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        byte[] header = header();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Item it : items.values()) writeStaged(ch, it);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
            syncDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(abs + ": writing safetensors failed: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    private void writeStaged(FileChannel ch, Item it) throws IOException {
        if (it.tensor.device() == Device.CPU) {
            writeData(ch, it);
            return;
        }
        try (Tensor host = Tensor.allocate(it.tensor.dtype(), it.tensor.shape())) {
            staging.copy(host, it.tensor);
            writeData(ch, new Item(it.name, host, it.storeAs));
        }
    }

    private static void writeData(FileChannel ch, Item it) throws IOException {
        Tensor t = it.tensor;
        long numel = t.numel();
        if (numel == 0) return;
        if (t.dtype() == it.storeAs) {
            long addr = t.address(), total = t.bytes();
            for (long off = 0; off < total; off += CHUNK_BYTES) {
                writeFully(ch, RawMemory.buffer(addr + off, Math.min(CHUNK_BYTES, total - off)));
            }
            return;
        }
        // F32 -> BF16/F16 in chunks through a native staging buffer
        long chunkElems = CHUNK_BYTES / 2;
        try (Tensor stage = Tensor.allocate(it.storeAs, Math.min(chunkElems, numel))) {
            long src = t.address();
            for (long i = 0; i < numel; i += chunkElems) {
                long n = Math.min(chunkElems, numel - i);
                if (it.storeAs == DType.BF16) {
                    NativeLib.t4j_f32_to_bf16(stage.address(), src + i * 4, n);
                } else {
                    NativeLib.t4j_f32_to_f16(stage.address(), src + i * 4, n);
                }
                writeFully(ch, RawMemory.buffer(stage.address(), n * 2));
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | RuntimeException ignored) {
            // not every platform lets a directory be fsynced
        }
    }

    /** Names added so far, in write order. */
    public List<String> names() {
        return new ArrayList<>(items.keySet());
    }
}
