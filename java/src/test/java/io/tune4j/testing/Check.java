package io.tune4j.testing;

import static org.junit.jupiter.api.Assertions.fail;

import io.tune4j.tensor.Tensor;

/** Comparisons against a reference: error relative to the reference's largest magnitude. */
public final class Check {
    /** The fp32 tolerance the op tests hold every kernel to. */
    public static final double FP32_TOL = 1e-5;

    private Check() {}

    /** max|got - ref| / max(max|ref|, tiny); NaN anywhere fails. */
    public static double relErr(float[] got, double[] ref) {
        if (got.length != ref.length) throw new AssertionError("length " + got.length + " vs reference " + ref.length);
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < got.length; i++) {
            if (Float.isNaN(got[i]) || Double.isNaN(ref[i])) return Double.NaN;
            maxErr = Math.max(maxErr, Math.abs(got[i] - ref[i]));
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        return maxErr / Math.max(maxRef, 1e-30);
    }

    public static void close(String what, Tensor got, org.bytedeco.pytorch.Tensor ref) {
        close(what, got.toFloatArray(), TorchRef.values(ref), FP32_TOL);
    }

    /**
     * For ops that add their gradient into a buffer (dx += ...): got against start + grad, relative to
     * the larger of that sum and the gradient itself. With one or a few elements the start can cancel
     * the gradient, and then the fp32 add leaves an error that is small against the gradient but
     * not against the near-zero sum; a wrong gradient still fails at the same tolerance.
     */
    public static void closeAdded(String what, Tensor got, org.bytedeco.pytorch.Tensor grad,
            org.bytedeco.pytorch.Tensor start) {
        float[] g = got.toFloatArray();
        double[] d = TorchRef.values(grad);
        double[] ref = TorchRef.values(grad.add(start));
        if (g.length != ref.length) throw new AssertionError(what + ": length " + g.length + " vs reference " + ref.length);
        double maxErr = 0, scale = 0;
        for (int i = 0; i < g.length; i++) {
            if (Float.isNaN(g[i]) || Double.isNaN(ref[i])) fail(what + ": NaN");
            maxErr = Math.max(maxErr, Math.abs(g[i] - ref[i]));
            scale = Math.max(scale, Math.max(Math.abs(ref[i]), Math.abs(d[i])));
        }
        double e = maxErr / Math.max(scale, 1e-30);
        if (!(e <= FP32_TOL)) fail(what + ": relative error " + e + " > " + FP32_TOL);
    }

    /**
     * got against ref, the error relative to the largest entry of scale: the magnitude of the terms each
     * reference value sums (for a product, |x| |w|^T), which bounds fp32 rounding however far the sum cancels.
     */
    public static void closeScaled(String what, Tensor got, org.bytedeco.pytorch.Tensor ref,
                                   org.bytedeco.pytorch.Tensor scale) {
        float[] g = got.toFloatArray();
        double[] r = TorchRef.values(ref), sc = TorchRef.values(scale);
        if (g.length != r.length || sc.length != r.length) {
            throw new AssertionError(what + ": length " + g.length + " vs reference " + r.length + " and scale " + sc.length);
        }
        double maxErr = 0, maxScale = 0;
        for (int i = 0; i < g.length; i++) {
            if (Float.isNaN(g[i]) || Double.isNaN(r[i])) fail(what + ": NaN");
            maxErr = Math.max(maxErr, Math.abs(g[i] - r[i]));
            maxScale = Math.max(maxScale, Math.max(sc[i], Math.abs(r[i])));
        }
        double e = maxErr / Math.max(maxScale, 1e-30);
        if (!(e <= FP32_TOL)) fail(what + ": error " + e + " of the terms' magnitude > " + FP32_TOL);
    }

    public static void close(String what, float[] got, double[] ref, double tol) {
        double e = relErr(got, ref);
        if (!(e <= tol)) fail(what + ": relative error " + e + " > " + tol);
    }
}
