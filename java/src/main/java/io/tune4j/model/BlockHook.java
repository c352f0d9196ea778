package io.tune4j.model;

import io.tune4j.tensor.Tensor;
import java.util.List;

/**
 * A trainable transform of a sub-block's output (attention after o_proj, or the MLP after
 * down_proj) applied before the residual add; bottleneck adapters plug in here. An instance
 * belongs to one layer and position, so it may keep what its backward needs from its last
 * forward.
 */
public interface BlockHook {

    /** Rewrites y [M, hidden] in place. */
    void forward(Tensor y, int M);

    /**
     * Given dy [M, hidden] (gradient w.r.t. the hook's output), OVERWRITES dx [M, hidden] with the
     * gradient w.r.t. its input and accumulates its parameters' gradients. dx and dy never alias.
     */
    void backward(Tensor dx, Tensor dy, int M);

    /** The hook's parameters, listed with the layer's. */
    default List<Parameter> parameters() {
        return List.of();
    }
}
