package io.tune4j.model;

import io.tune4j.model.io.CheckpointLoader;
import io.tune4j.model.io.LlamaCheckpoint;
import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.DType;
import io.tune4j.tokenizer.Tokenizer;
import io.tune4j.tokenizer.Tokenizers;
import java.nio.file.Path;

/** A checkpoint, the model built over it and its tokenizer: what `--model` resolves to. */
public final class LoadedModel implements AutoCloseable {
    private final LlamaCheckpoint checkpoint;
    private final LlamaModel model;
    private final Tokenizer tokenizer;

    private LoadedModel(LlamaCheckpoint checkpoint, LlamaModel model, Tokenizer tokenizer) {
        this.checkpoint = checkpoint;
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /**
     * Loads a model directory, llama2.c checkpoint or hub id ({@link ModelLocator}) onto the CPU
     * backend; tokenizerFile may be null (found beside the model).
     */
    public static LoadedModel load(String modelSpec, Path tokenizerFile) {
        return load(ModelLocator.resolve(modelSpec), tokenizerFile, CpuOps.INSTANCE);
    }

    /** {@link #load(String, Path)} onto a chosen backend. */
    public static LoadedModel load(String modelSpec, Path tokenizerFile, Ops ops) {
        return load(ModelLocator.resolve(modelSpec), tokenizerFile, ops);
    }

    public static LoadedModel load(Path path, Path tokenizerFile, Ops ops) {
        Tokenizer tok = Tokenizers.load(path, tokenizerFile);
        LlamaCheckpoint ckpt = null;
        try {
            ckpt = CheckpointLoader.load(path);
            if (tok.vocabSize() > ckpt.config().vocabSize()) {
                throw new IllegalArgumentException(path + ": tokenizer has " + tok.vocabSize()
                        + " tokens but the model's vocabulary is " + ckpt.config().vocabSize());
            }
            LlamaModel model = LlamaModel.fromWeights(ckpt.config(), ckpt.weights(), ops);
            return new LoadedModel(ckpt, model, tok);
        } catch (RuntimeException e) {
            tok.close();
            if (ckpt != null) ckpt.close();
            throw e;
        }
    }

    public LlamaModel model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public LlamaConfig config() {
        return model.config();
    }

    public LlamaCheckpoint checkpoint() {
        return checkpoint;
    }

    public String source() {
        return checkpoint.source();
    }

    public DType dtype() {
        return checkpoint.storedDType();
    }

    @Override
    public void close() {
        model.close();
        tokenizer.close();
        checkpoint.close();
    }
}
