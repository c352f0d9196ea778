package io.tune4j.model;

import io.tune4j.model.io.CheckpointLoader;
import io.tune4j.model.io.LlamaCheckpoint;
import io.tune4j.ops.DeviceChoice;
import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tokenizer.Tokenizer;
import io.tune4j.tokenizer.Tokenizers;
import java.nio.file.Path;

/** A checkpoint, the model built over it and its tokenizer: what `--model` resolves to. */
public final class LoadedModel implements AutoCloseable {
    private final LlamaCheckpoint checkpoint;
    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private String deviceNotice;

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

    /**
     * Loads onto a selected backend ({@code --device}). Where auto chose a GPU that cannot hold the model,
     * the model loads on the CPU instead and {@link #announceDevice} says so; an explicit cuda that cannot
     * hold it is a one-line IllegalArgumentException.
     */
    public static LoadedModel load(Path path, Path tokenizerFile, DeviceChoice.Selection device) {
        LoadedModel m;
        try {
            m = load(path, tokenizerFile, device.ops());
        } catch (OutOfMemoryError e) {
            if (device.ops().device() == Device.CPU) throw e;
            if (!device.auto()) throw new IllegalArgumentException("--device cuda: " + e.getMessage(), e);
            device = device.onCpu("the model does not fit in GPU memory (" + e.getMessage() + ")");
            m = load(path, tokenizerFile, device.ops());
        }
        m.deviceNotice = device.notice();
        return m;
    }

    /** Prints auto's one-line fallback notice, if it made one, once. */
    public void announceDevice(java.io.PrintStream log) {
        if (deviceNotice != null) log.println(deviceNotice);
        deviceNotice = null;
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
        } catch (RuntimeException | Error e) { // a device out of memory is an Error: free what was built
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
