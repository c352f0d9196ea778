package io.tune4j.model;

import io.tune4j.tensor.Tensor;
import java.util.List;

/**
 * A linear map inside a decoder layer (q/k/v/o, gate/up/down). The plain weight is one
 * implementation; fine-tuning methods (LoRA) wrap it. Implementations keep whatever they save
 * for backward in buffers sized once for {@code maxTokens} rows.
 */
public interface Projection extends AutoCloseable {

    int inFeatures();

    int outFeatures();

    /** y[M,out] = f(x[M,in]). */
    void forward(Tensor y, Tensor x, int M);

    /**
     * y = f(x) for decoding, where no backward follows: no training-only noise (LoRA dropout).
     * Plain projections compute the same as {@link #forward}.
     */
    default void forwardInference(Tensor y, Tensor x, int M) {
        forward(y, x, M);
    }

    /**
     * forwardInference for a decoding step whose rows may use different adapters (see
     * {@link RowAdapters}); projections that serve one model for every row ignore the table.
     */
    default void forwardInference(Tensor y, Tensor x, int M, RowAdapters rows) {
        forwardInference(y, x, M);
    }

    /**
     * Keeps a bf16 copy of the weight for {@link #forwardInference} (decoding streams half the bytes);
     * training and evaluation keep the fp32 weight. Returns the bytes added, 0 where nothing was packed.
     */
    default long packForDecoding() {
        return 0;
    }

    /** Accumulates dx (may be null) and the gradients of trainable parameters. */
    void backward(Tensor dx, Tensor dy, Tensor x, int M);

    /** Parameters this projection owns or wraps. */
    List<Parameter> parameters();

    @Override
    default void close() {}
}
