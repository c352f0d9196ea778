package io.tune4j.train;

import io.tune4j.model.Parameter;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.model.io.SafetensorsWriter;
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
    private final io.tune4j.ops.Ops ops;

    BestWeights(Path outDir, io.tune4j.ops.Ops ops) {
        file = outDir.resolve(FILE);
        this.ops = ops;
    }

    Path file() {
        return file;
    }

    void save(int step, double valLoss, List<Parameter> params) {
        SafetensorsWriter w = new SafetensorsWriter().stagingFrom(ops).metadata("format", "tune4j-best")
                .metadata("step", Integer.toString(step)).metadata("val_loss", String.format(Locale.ROOT, "%.17g", valLoss));
        for (Parameter p : params) w.add(p.name(), p.value());
        w.write(file);
    }

    /**
     * Copies the weights saved at step back into params, or leaves them untouched and says why
     * not: the file is missing, holds another step, or lacks or misshapes a parameter.
     */
    String restore(int step, List<Parameter> params) {
        if (!Files.isRegularFile(file)) return file + " is missing";
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String saved = f.metadata().get("step");
            if (!Integer.toString(step).equals(saved)) return file + " holds step " + saved + ", not " + step;
            for (Parameter p : params) {
                if (!f.contains(p.name())) return file + " has no tensor '" + p.name() + "'";
                if (!Arrays.equals(f.tensor(p.name()).shape(), p.value().shape())) {
                    return file + ": tensor '" + p.name() + "' has shape " + Arrays.toString(f.tensor(p.name()).shape())
                            + ", expected " + Arrays.toString(p.value().shape());
                }
            }
            // checked in full before the first copy: a half-restored model would be neither step
            for (Parameter p : params) ops.copy(p.value(), f.tensor(p.name()));
            return null;
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
