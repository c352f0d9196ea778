package io.tune4j.train;

import io.tune4j.model.Parameter;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The trainable weights of the step with the lowest validation loss so far, in one file beside
 * the checkpoints (replaced atomically), so that a run that overfits can still end with its best
 * step, and a resumed run still has it. Only the trainable parameters are kept: for adapters a
 * few megabytes, for a full fine-tune one copy of the model.
 */
final class BestWeights {
    static final String FILE = "best.safetensors";
    private final Path file;

    BestWeights(Path outDir) {
        file = outDir.resolve(FILE);
    }

    Path file() {
        return file;
    }

    void save(int step, double valLoss, List<Parameter> params) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "tune4j-best")
                .metadata("step", Integer.toString(step)).metadata("val_loss", String.format(Locale.ROOT, "%.17g", valLoss));
        for (Parameter p : params) w.add(p.name(), p.value());
        w.write(file);
    }

    /** Copies the weights saved at step back into params; the file must hold that step and every parameter. */
    void restore(int step, List<Parameter> params) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException(file + ": missing; the weights of the best step (" + step + ") cannot be restored");
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String saved = f.metadata().get("step");
            if (!Integer.toString(step).equals(saved)) {
                throw new IllegalStateException(file + ": holds step " + saved + ", expected the best step " + step);
            }
            for (Parameter p : params) {
                if (!f.contains(p.name())) throw new IllegalStateException(file + ": no tensor '" + p.name() + "'");
                Tensor t = f.tensor(p.name());
                if (!Arrays.equals(t.shape(), p.value().shape())) {
                    throw new IllegalStateException(file + ": tensor '" + p.name() + "' has shape " + Arrays.toString(t.shape())
                            + ", expected " + Arrays.toString(p.value().shape()));
                }
                p.value().copyFrom(t);
            }
        }
    }

    void delete() {
        try {
            Files.deleteIfExists(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(file + ": cannot remove the best step's copy: " + e.getMessage(), e);
        }
    }
}
