package io.tune4j.generate;

import io.tune4j.model.LlamaModel;
import io.tune4j.ops.MatmulPrecision;
import java.io.PrintStream;
import java.util.Locale;

/** The {@code --weights fp32|bf16} choice of generate and serve: what decoding streams per token. */
public final class DecodingWeights {
    private DecodingWeights() {}

    /** The option's value; anything but fp32 or bf16 fails naming the option. */
    public static MatmulPrecision parse(String weights) {
        try {
            return MatmulPrecision.parse(weights);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--weights: expected fp32 or bf16, got '" + weights + "'");
        }
    }

    /** Packs the model's weights for bf16 decoding when asked to; says on log what it did. */
    public static void apply(LlamaModel model, MatmulPrecision weights, PrintStream log) {
        if (weights != MatmulPrecision.BF16) return;
        long bytes = model.packForDecoding();
        if (bytes == 0) {
            log.println("tune4j: the " + model.ops().name() + " backend has no bf16 decoding weights; decoding from fp32 weights");
        } else {
            log.printf(Locale.ROOT, "tune4j: decoding from bf16 weights (%.1f MiB next to the fp32 ones)%n",
                    bytes / 1048576.0);
        }
    }
}
