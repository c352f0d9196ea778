package io.tune4j.export;

import io.tune4j.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A GGUF v3 container: metadata key/values, tensor infos, then the tensor data, each tensor at a
 * multiple of {@link #ALIGNMENT} from the data start. Tensors are pulled one at a time while the
 * file is written, so a caller can compute each (e.g. a merged LoRA weight) only when it is needed.
 * The file appears only complete: it is written beside the target, fsynced and renamed.
 */
public final class GgufWriter {
    public static final int ALIGNMENT = 32;
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    static final int VERSION = 3;

    /** gguf_type ids of metadata values. */
    enum ValueType {
        UINT8(0), INT8(1), UINT16(2), INT16(3), UINT32(4), INT32(5), FLOAT32(6), BOOL(7), STRING(8), ARRAY(9),
        UINT64(10), INT64(11), FLOAT64(12);

        final int id;

        ValueType(int id) {
            this.id = id;
        }
    }

    /** Rows of a row-major [rows, cols] tensor (a 1-D tensor is one row). */
    public interface RowReader extends AutoCloseable {
        void row(int r, float[] dst);

        @Override
        default void close() {}
    }

    private record Tensor(String name, long rows, long cols, boolean oneDim, GgufType type, Supplier<RowReader> data) {
        long bytes() {
            return type.bytes(rows * cols);
        }
    }

    private record Value(ValueType type, ValueType elementType, Object value) {}

    private final Map<String, Value> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();

    public GgufWriter putString(String key, String v) {
        return put(key, new Value(ValueType.STRING, null, v));
    }

    public GgufWriter putU32(String key, long v) {
        if (v < 0 || v > 0xffffffffL) throw new IllegalArgumentException(key + ": " + v + " does not fit a u32");
        return put(key, new Value(ValueType.UINT32, null, v));
    }

    public GgufWriter putF32(String key, float v) {
        return put(key, new Value(ValueType.FLOAT32, null, v));
    }

    public GgufWriter putBool(String key, boolean v) {
        return put(key, new Value(ValueType.BOOL, null, v));
    }

    public GgufWriter putStrings(String key, List<String> v) {
        return put(key, new Value(ValueType.ARRAY, ValueType.STRING, List.copyOf(v)));
    }

    public GgufWriter putF32s(String key, float[] v) {
        return put(key, new Value(ValueType.ARRAY, ValueType.FLOAT32, v.clone()));
    }

    public GgufWriter putI32s(String key, int[] v) {
        return put(key, new Value(ValueType.ARRAY, ValueType.INT32, v.clone()));
    }

    private GgufWriter put(String key, Value v) {
        metadata.put(key, v);
        return this;
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    /** Adds a matrix stored row-major as [rows, cols]; GGUF lists its dims reversed (ne0 = cols). */
    public GgufWriter addMatrix(String name, long rows, long cols, GgufType type, Supplier<RowReader> data) {
        return add(new Tensor(name, rows, cols, false, type, data));
    }

    /** Adds a vector; GGUF's 1-D tensors are F32 for llama.cpp's norms. */
    public GgufWriter addVector(String name, long n, Supplier<RowReader> data) {
        return add(new Tensor(name, 1, n, true, GgufType.F32, data));
    }

    private GgufWriter add(Tensor t) {
        if (t.cols % t.type.blockSize != 0) {
            throw new IllegalArgumentException(t.name + ": rows of " + t.cols + " elements cannot be stored as "
                    + t.type.cliName() + " (blocks of " + t.type.blockSize + ")");
        }
        if (t.cols > Integer.MAX_VALUE) throw new IllegalArgumentException(t.name + ": rows longer than 2^31 elements");
        for (Tensor o : tensors) {
            if (o.name.equals(t.name)) throw new IllegalArgumentException("tensor " + t.name + " added twice");
        }
        tensors.add(t);
        return this;
    }

    public int tensorCount() {
        return tensors.size();
    }

    /**
     * Writes the file: a temporary file in out's directory, fsynced, then renamed over out. On any
     * failure the temporary file is deleted and out is left as it was.
     */
    public void write(Path out) {
        Path abs = out.toAbsolutePath();
        Path dir = abs.getParent();
        if (!Files.isDirectory(dir)) {
            throw new UncheckedIOException(new IOException(abs + ": cannot write: directory " + dir + " does not exist"));
        }
        if (Files.isDirectory(abs)) {
            throw new UncheckedIOException(new IOException(abs + ": cannot write: it is a directory"));
        }
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException(abs + ": cannot write: " + e.getMessage(), e));
        }
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeTo(ch);
                ch.force(true);
            }
            publishPermissions(tmp, abs);
            AtomicFiles.move(tmp, abs);
            done = true;
            AtomicFiles.syncDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException(abs + ": writing failed: " + e.getMessage(), e));
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; the temporary name never replaces out
                }
            }
        }
    }

    /**
     * A temporary file is created owner-only; the export is a model to hand to other programs (a
     * llama.cpp or Ollama service user), so it gets the replaced file's permissions, or rw-r--r--.
     */
    private static void publishPermissions(Path tmp, Path target) {
        try {
            Set<PosixFilePermission> perms = Files.exists(target) ? Files.getPosixFilePermissions(target)
                    : PosixFilePermissions.fromString("rw-r--r--");
            Files.setPosixFilePermissions(tmp, perms);
        } catch (UnsupportedOperationException | IOException ignored) {
            // not a POSIX file system: the platform's default stands
        }
    }

    private void writeTo(FileChannel ch) throws IOException {
        Sink s = new Sink(ch);
        s.u32(MAGIC);
        s.u32(VERSION);
        s.u64(tensors.size());
        s.u64(metadata.size());
        for (Map.Entry<String, Value> e : metadata.entrySet()) {
            s.string(e.getKey());
            Value v = e.getValue();
            s.u32(v.type.id);
            if (v.type == ValueType.ARRAY) {
                s.u32(v.elementType.id);
                writeArray(s, v);
            } else {
                writeScalar(s, v.type, v.value);
            }
        }
        long offset = 0;
        for (Tensor t : tensors) {
            s.string(t.name);
            if (t.oneDim) {
                s.u32(1);
                s.u64(t.cols);
            } else {
                s.u32(2);
                s.u64(t.cols);
                s.u64(t.rows);
            }
            s.u32(t.type.id);
            s.u64(offset);
            offset = align(offset + t.bytes());
        }
        s.padTo(align(s.position()));
        long dataStart = s.position();
        for (Tensor t : tensors) {
            float[] row = new float[(int) t.cols];
            try (RowReader rr = t.data.get()) {
                for (long r = 0; r < t.rows; r++) {
                    rr.row((int) r, row);
                    s.encode(row, t.type);
                }
            }
            s.padTo(dataStart + align(s.position() - dataStart));
        }
        s.flush();
    }

    static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static void writeScalar(Sink s, ValueType type, Object v) throws IOException {
        switch (type) {
            case STRING -> s.string((String) v);
            case UINT32 -> s.u32((int) (long) (Long) v);
            case FLOAT32 -> s.f32((Float) v);
            case BOOL -> s.u8((Boolean) v ? 1 : 0);
            default -> throw new IllegalStateException("no writer for " + type);
        }
    }

    private static void writeArray(Sink s, Value v) throws IOException {
        switch (v.elementType) {
            case STRING -> {
                @SuppressWarnings("unchecked") List<String> l = (List<String>) v.value;
                s.u64(l.size());
                for (String x : l) s.string(x);
            }
            case FLOAT32 -> {
                float[] a = (float[]) v.value;
                s.u64(a.length);
                for (float x : a) s.f32(x);
            }
            case INT32 -> {
                int[] a = (int[]) v.value;
                s.u64(a.length);
                for (int x : a) s.u32(x);
            }
            default -> throw new IllegalStateException("no array writer for " + v.elementType);
        }
    }

    /** Little-endian buffered output that knows its file position. */
    private static final class Sink {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long flushed;

        Sink(FileChannel ch) {
            this.ch = ch;
        }

        long position() {
            return flushed + buf.position();
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) flush();
        }

        void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) flushed += ch.write(buf);
            buf.clear();
        }

        void u8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
        }

        void u32(int v) throws IOException {
            room(4);
            buf.putInt(v);
        }

        void u64(long v) throws IOException {
            room(8);
            buf.putLong(v);
        }

        void f32(float v) throws IOException {
            room(4);
            buf.putFloat(v);
        }

        void string(String v) throws IOException {
            byte[] b = v.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            for (int i = 0; i < b.length; ) {
                room(1);
                int n = Math.min(buf.remaining(), b.length - i);
                buf.put(b, i, n);
                i += n;
            }
        }

        void padTo(long pos) throws IOException {
            while (position() < pos) u8(0);
        }

        /** Encodes one row in chunks of whole blocks that fit the buffer. */
        void encode(float[] row, GgufType type) throws IOException {
            int chunk = Math.max(type.blockSize, (buf.capacity() / 2 / type.blockBytes) * type.blockSize);
            for (int i = 0; i < row.length; i += chunk) {
                int n = Math.min(chunk, row.length - i);
                int bytes = (int) type.bytes(n);
                room(bytes);
                TensorEncoder.encode(row, i, n, type, buf);
            }
        }
    }
}
