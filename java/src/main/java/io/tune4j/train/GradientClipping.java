package io.tune4j.train;

import io.tune4j.model.Parameter;
import io.tune4j.ops.Ops;
import java.util.List;

/** Global L2-norm clipping over all trainable gradients together. */
public final class GradientClipping {
    private GradientClipping() {}

    public static double globalNorm(Ops ops, List<Parameter> params) {
        java.util.List<io.tune4j.tensor.Tensor> grads = new java.util.ArrayList<>(params.size());
        for (Parameter p : params) grads.add(p.grad());
        return Math.sqrt(ops.sumOfSquares(grads));
    }

    /**
     * Scales every gradient by maxNorm/norm when the global norm exceeds maxNorm (0 = never).
     * Returns the norm before clipping.
     */
    public static double clip(Ops ops, List<Parameter> params, double maxNorm) {
        double norm = globalNorm(ops, params);
        if (maxNorm > 0 && norm > maxNorm && Double.isFinite(norm)) {
            float s = (float) (maxNorm / (norm + 1e-6));
            for (Parameter p : params) ops.scale(p.grad(), s);
        }
        return norm;
    }
}
