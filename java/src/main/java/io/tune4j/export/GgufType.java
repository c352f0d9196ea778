package io.tune4j.export;

import java.util.Locale;

/**
 * Tensor storage types of GGUF that the exporter writes, with ggml's type ids and the
 * general.file_type ("mostly ...") code llama.cpp reports for a model stored that way.
 */
public enum GgufType {
    F32(0, 1, 4, 0),
    F16(1, 1, 2, 1),
    Q8_0(8, 32, 34, 7),
    BF16(30, 1, 2, 32);

    /** ggml_type id. */
    public final int id;
    /** Elements per block; a row's length must be a multiple of it. */
    public final int blockSize;
    /** Bytes per block. */
    public final int blockBytes;
    /** llama_ftype of a model whose matrices are stored in this type. */
    public final int fileType;

    GgufType(int id, int blockSize, int blockBytes, int fileType) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.fileType = fileType;
    }

    public long bytes(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(this + " stores blocks of " + blockSize + " elements, not " + elements);
        }
        return elements / blockSize * blockBytes;
    }

    /** f32, f16, bf16 or q8_0 (case-insensitive). */
    public static GgufType parse(String dtype) {
        return switch (dtype.toLowerCase(Locale.ROOT)) {
            case "f32" -> F32;
            case "f16" -> F16;
            case "bf16" -> BF16;
            case "q8_0" -> Q8_0;
            default -> throw new IllegalArgumentException("--dtype: unknown dtype '" + dtype
                    + "'; expected f32, f16, bf16 or q8_0");
        };
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
