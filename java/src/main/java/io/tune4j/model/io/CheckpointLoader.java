package io.tune4j.model.io;

import io.tune4j.model.LlamaConfig;
import io.tune4j.ops.RopeScaling;
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
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Loads a Llama checkpoint: a Hugging Face model directory (config.json + model.safetensors or a
 * sharded index) or a llama2.c legacy .bin file. Weights come back under HF names, in HF layout
 * (q/k rows in rotate-half order), as F32 CPU tensors.
 */
public final class CheckpointLoader {
    /** First int of llama2.c's versioned export format ("ak42"), which is not supported. */
    static final int LLAMA2C_MAGIC = 0x616b3432;
    static final int LLAMA2C_HEADER_BYTES = 7 * 4;

    private CheckpointLoader() {}

    /**
     * Loads a model directory, a .safetensors / .index.json file (config.json beside it) or a
     * llama2.c .bin file.
     */
    public static LlamaCheckpoint load(Path path) {
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve(LlamaConfigReader.CONFIG))) return loadSafetensors(path);
            Path bin = findLlama2cBin(path);
            if (bin != null) return loadLlama2c(bin);
            throw new ModelFormatException(path, "not a model directory: expected config.json with model.safetensors, "
                    + "or a llama2.c .bin file");
        }
        if (!Files.exists(path)) throw new ModelFormatException(path, "file not found");
        String name = path.getFileName().toString();
        if (name.endsWith(".safetensors") || name.endsWith(".index.json")) return loadSafetensors(path);
        return loadLlama2c(path);
    }

    private static Path findLlama2cBin(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> bins = s.filter(p -> p.getFileName().toString().endsWith(".bin") && Files.isRegularFile(p))
                    .filter(CheckpointLoader::looksLikeLlama2c).sorted().toList();
            return bins.size() == 1 ? bins.get(0) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the file's size matches a llama2.c legacy header (cheap check; used to tell models from tokenizers). */
    static boolean looksLikeLlama2c(Path p) {
        try {
            readLlama2cConfig(p);
            return true;
        } catch (ModelFormatException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- Hugging Face

    /** Loads config.json plus safetensors weights from a model directory (or a weights file inside one). */
    public static LlamaCheckpoint loadSafetensors(Path dirOrWeights) {
        Path dir = Files.isDirectory(dirOrWeights) ? dirOrWeights : dirOrWeights.toAbsolutePath().getParent();
        LlamaConfig config = LlamaConfigReader.read(dir);
        Arena arena = new Arena();
        try {
            SafetensorsShards shards = arena.adopt(SafetensorsShards.open(dirOrWeights));
            Map<String, long[]> expected = LlamaWeights.expectedShapes(config);
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                SafetensorsFile.TensorInfo info = shards.info(e.getKey());
                if (info == null) {
                    throw new ModelFormatException(shards.source(), "missing tensor '" + e.getKey() + "' (expected shape "
                            + Arrays.toString(e.getValue()) + " from " + dir.resolve(LlamaConfigReader.CONFIG) + ")");
                }
                if (!Arrays.equals(info.shape(), e.getValue())) {
                    throw new ModelFormatException(shards.fileOf(e.getKey()).path(), "tensor '" + e.getKey()
                            + "' has shape " + Arrays.toString(info.shape()) + ", expected " + Arrays.toString(e.getValue())
                            + " from " + dir.resolve(LlamaConfigReader.CONFIG));
                }
                if (info.storageType() == null) {
                    throw new ModelFormatException(shards.fileOf(e.getKey()).path(), "tensor '" + e.getKey()
                            + "' has dtype " + info.dtype() + "; expected F32, F16 or BF16");
                }
            }
            Map<String, Tensor> weights = new LinkedHashMap<>();
            for (String name : expected.keySet()) weights.put(name, shards.tensor(name));
            DType stored = shards.info(LlamaWeights.EMBED_TOKENS).storageType();
            String desc = "safetensors " + shards.source() + " (" + stored + ", " + shards.files().size()
                    + (shards.files().size() == 1 ? " file)" : " shards)");
            return new LlamaCheckpoint(config, weights, dirOrWeights, desc, stored, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    // ---------------------------------------------------------------- llama2.c

    /** Reads and validates a llama2.c legacy header against the file size. */
    public static LlamaConfig readLlama2cConfig(Path file) {
        return readLlama2cHeader(file).config;
    }

    private record Llama2cHeader(LlamaConfig config, boolean shared, long fileSize) {}

    private static Llama2cHeader readLlama2cHeader(Path file) {
        long size;
        int[] h = new int[7];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            size = ch.size();
            if (size < LLAMA2C_HEADER_BYTES) {
                throw new ModelFormatException(file, "file is " + size + " bytes, too small for a llama2.c checkpoint "
                        + "(expected a 28-byte header of 7 int32 followed by fp32 weights)");
            }
            ByteBuffer b = ByteBuffer.allocate(LLAMA2C_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                if (ch.read(b, b.position()) < 0) throw new IOException("unexpected end of file");
            }
            for (int i = 0; i < 7; i++) h[i] = b.getInt(i * 4);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "file not found");
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e, e);
        }
        if (h[0] == LLAMA2C_MAGIC) {
            throw new ModelFormatException(file, "llama2.c versioned export (magic 'ak42', version " + h[1]
                    + ") is not supported; expected the legacy format (export with --version 0)");
        }
        int dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kvHeads = h[4], vocabRaw = h[5], seq = h[6];
        boolean shared = vocabRaw > 0;
        int vocab = Math.abs(vocabRaw);
        String hdr = "dim=" + dim + ", hidden_dim=" + hidden + ", n_layers=" + layers + ", n_heads=" + heads
                + ", n_kv_heads=" + kvHeads + ", vocab_size=" + vocabRaw + ", seq_len=" + seq;
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || seq <= 0
                || dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0 || dim > (1 << 20)
                || hidden > (1 << 22) || layers > 4096 || vocab > (1 << 24) || seq > (1 << 24)) {
            throw new ModelFormatException(file, "not a llama2.c checkpoint: implausible header (" + hdr + ")");
        }
        int hd = dim / heads;
        long kvDim = (long) kvHeads * hd;
        long floats = (long) vocab * dim                                   // token_embedding
                + (long) layers * dim                                      // rms_att
                + (long) layers * dim * dim                                // wq
                + 2L * layers * kvDim * dim                                // wk, wv
                + (long) layers * dim * dim                                // wo
                + (long) layers * dim                                      // rms_ffn
                + 3L * layers * hidden * dim                               // w1, w2, w3
                + dim                                                      // rms_final
                + (long) seq * hd                                          // freq_cis_real + imag
                + (shared ? 0 : (long) vocab * dim);                       // wcls
        long expected = LLAMA2C_HEADER_BYTES + floats * 4;
        if (size != expected) {
            throw new ModelFormatException(file, "llama2.c header (" + hdr + ") implies " + expected
                    + " bytes but the file has " + size + (size < expected ? " (truncated?)" : ""));
        }
        LlamaConfig config;
        try {
            config = new LlamaConfig(vocab, dim, hidden, layers, heads, kvHeads, hd, seq, 1e-5f, RopeScaling.none(10000f),
                    shared, 1, new int[] {2}, "silu", false, false);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "invalid llama2.c header: " + e.getMessage(), e);
        }
        return new Llama2cHeader(config, shared, size);
    }

    /**
     * Maps a llama2.c legacy checkpoint. Weights are zero-copy views over the mapping except
     * q_proj/k_proj, whose rows are permuted from interleaved RoPE pairs to rotate-half order into
     * owned tensors.
     */
    public static LlamaCheckpoint loadLlama2c(Path file) {
        Llama2cHeader h = readLlama2cHeader(file);
        LlamaConfig c = h.config;
        long[] sizeOut = new long[1];
        long base = NativeMemory.map(file.toString(), sizeOut);
        if (base == 0) throw new ModelFormatException(file, "memory-mapping the file failed (unreadable?)");
        long mapSize = sizeOut[0];
        Arena arena = new Arena();
        arena.adopt((AutoCloseable) () -> NativeMemory.unmap(base, mapSize));
        try {
            if (mapSize != h.fileSize) throw new ModelFormatException(file, "file changed size while opening");
            int L = c.numLayers(), d = c.hiddenSize(), hid = c.intermediateSize(), hd = c.headDim();
            long kv = c.kvDim(), V = c.vocabSize();
            long[] cursor = {base + LLAMA2C_HEADER_BYTES};
            Tensor emb = take(cursor, V * d).view(V, d);
            Tensor rmsAtt = take(cursor, (long) L * d);
            Tensor wq = take(cursor, (long) L * d * d);
            Tensor wk = take(cursor, L * kv * d);
            Tensor wv = take(cursor, L * kv * d);
            Tensor wo = take(cursor, (long) L * d * d);
            Tensor rmsFfn = take(cursor, (long) L * d);
            Tensor w1 = take(cursor, (long) L * hid * d);
            Tensor w2 = take(cursor, (long) L * d * hid);
            Tensor w3 = take(cursor, (long) L * hid * d);
            Tensor rmsFinal = take(cursor, d);
            take(cursor, (long) c.maxPositions() * hd); // legacy freq_cis_real + freq_cis_imag, unused
            Tensor wcls = h.shared ? null : take(cursor, V * d).view(V, d);

            Map<String, Tensor> w = new LinkedHashMap<>();
            w.put(LlamaWeights.EMBED_TOKENS, emb);
            for (int l = 0; l < L; l++) {
                w.put(LlamaWeights.inputNorm(l), rmsAtt.view((long) L, d).slice(l, l + 1).view(d));
                w.put(LlamaWeights.q(l), permuteRotary(arena, wq.view((long) L * d, d).slice((long) l * d, (long) (l + 1) * d),
                        c.numHeads(), hd, d));
                w.put(LlamaWeights.k(l), permuteRotary(arena, wk.view(L * kv, d).slice(l * kv, (l + 1) * kv),
                        c.numKvHeads(), hd, d));
                w.put(LlamaWeights.v(l), wv.view(L * kv, d).slice(l * kv, (l + 1) * kv));
                w.put(LlamaWeights.o(l), wo.view((long) L * d, d).slice((long) l * d, (long) (l + 1) * d));
                w.put(LlamaWeights.postAttentionNorm(l), rmsFfn.view((long) L, d).slice(l, l + 1).view(d));
                w.put(LlamaWeights.gate(l), w1.view((long) L * hid, d).slice((long) l * hid, (long) (l + 1) * hid));
                w.put(LlamaWeights.up(l), w3.view((long) L * hid, d).slice((long) l * hid, (long) (l + 1) * hid));
                w.put(LlamaWeights.down(l), w2.view((long) L * d, hid).slice((long) l * d, (long) (l + 1) * d));
            }
            w.put(LlamaWeights.NORM, rmsFinal);
            if (wcls != null) w.put(LlamaWeights.LM_HEAD, wcls);
            // every name and shape as the HF loader would check them
            Map<String, long[]> expected = LlamaWeights.expectedShapes(c);
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                Tensor t = w.get(e.getKey());
                if (t == null || !Arrays.equals(t.shape(), e.getValue())) {
                    throw new IllegalStateException("llama2.c layout bug: " + e.getKey());
                }
            }
            String desc = "llama2.c " + file + " (F32" + (h.shared ? ", tied embeddings)" : ")");
            return new LlamaCheckpoint(c, w, file, desc, DType.F32, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Tensor take(long[] cursor, long floats) {
        Tensor t = Tensor.wrap(cursor[0], DType.F32, Device.CPU, floats);
        cursor[0] += floats * 4;
        return t;
    }

    /**
     * Reorders the rows of a [heads*hd, in] projection from interleaved RoPE pairs (llama2.c /
     * Meta layout) to rotate-half (HF layout): within each head, new row i = old row 2i and new
     * row i + hd/2 = old row 2i + 1.
     */
    public static Tensor permuteRotary(Arena arena, Tensor src, int heads, int hd, int in) {
        Tensor dst = arena.f32((long) heads * hd, in);
        long s = src.address(), t = dst.address(), row = (long) in * 4;
        int half = hd / 2;
        for (int h = 0; h < heads; h++) {
            long headBase = (long) h * hd;
            for (int i = 0; i < half; i++) {
                NativeLib.t4j_copy(t + (headBase + i) * row, s + (headBase + 2L * i) * row, in);
                NativeLib.t4j_copy(t + (headBase + i + half) * row, s + (headBase + 2L * i + 1) * row, in);
            }
        }
        return dst;
    }
}
