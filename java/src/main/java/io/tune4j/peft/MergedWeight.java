package io.tune4j.peft;

import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;

/**
 * A base weight with a method folded in, computed on demand so that a writer holds one merged
 * weight at a time rather than a second copy of the model.
 */
@FunctionalInterface
public interface MergedWeight {
    /** The merged weight, in the base weight's shape, allocated in arena; the model keeps its own weights. */
    Tensor compute(Ops ops, Arena arena);
}
