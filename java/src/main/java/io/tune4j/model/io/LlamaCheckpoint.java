package io.tune4j.model.io;

import io.tune4j.model.LlamaConfig;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;

/**
 * A loaded Llama model: its config and F32 CPU weights under Hugging Face names (see
 * {@link LlamaWeights}). Weights may be views over a memory-mapped file; all of them, and the
 * mappings, are released by {@link #close()}.
 */
public final class LlamaCheckpoint implements AutoCloseable {
    private final LlamaConfig config;
    private final Map<String, Tensor> weights;
    private final Path path;
    private final String source;
    private final DType storedDType;
    private final Arena arena;

    LlamaCheckpoint(LlamaConfig config, Map<String, Tensor> weights, Path path, String source, DType storedDType,
                    Arena arena) {
        this.config = config;
        this.weights = Collections.unmodifiableMap(weights);
        this.path = path;
        this.source = source;
        this.storedDType = storedDType;
        this.arena = arena;
    }

    public LlamaConfig config() {
        return config;
    }

    /** All weights by HF name, in checkpoint order (lm_head.weight absent when tied). */
    public Map<String, Tensor> weights() {
        return weights;
    }

    /** The named weight; throws when absent. */
    public Tensor weight(String name) {
        Tensor t = weights.get(name);
        if (t == null) throw new IllegalArgumentException(source + ": no weight named '" + name + "'");
        return t;
    }

    /** The output projection: lm_head.weight, or the embedding table when tied. */
    public Tensor lmHead() {
        return config.tieWordEmbeddings() ? weight(LlamaWeights.EMBED_TOKENS) : weight(LlamaWeights.LM_HEAD);
    }

    /** The file or directory loaded. */
    public Path path() {
        return path;
    }

    /** A short description, e.g. "safetensors /m/model.safetensors (BF16, 1 shard)". */
    public String source() {
        return source;
    }

    /** How the weights are stored on disk (the in-memory tensors are F32). */
    public DType storedDType() {
        return storedDType;
    }

    /** Owns the memory behind the weights; callers may adopt further resources with the same lifetime. */
    public Arena arena() {
        return arena;
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "LlamaCheckpoint[" + source + ", " + weights.size() + " tensors]";
    }
}
