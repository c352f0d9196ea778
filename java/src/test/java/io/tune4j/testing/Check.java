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

    public static void close(String what, float[] got, double[] ref, double tol) {
        double e = relErr(got, ref);
        if (!(e <= tol)) fail(what + ": relative error " + e + " > " + tol);
    }
}
