package io.tune4j.testing;

import io.tune4j.tensor.Tensor;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch (Bytedeco PyTorch CPU preset) as the numerical reference. Reference math runs in
 * float64 so the comparison measures our fp32 kernels' error, not the reference's.
 */
public final class TorchRef {
    static {
        torch.set_num_threads(1);
    }

    private TorchRef() {}

    /** A float64 leaf tensor with our tensor's values; requiresGrad makes it an autograd leaf. */
    public static org.bytedeco.pytorch.Tensor of(Tensor t, boolean requiresGrad) {
        return of(t.toFloatArray(), requiresGrad, t.shape());
    }

    public static org.bytedeco.pytorch.Tensor of(float[] values, boolean requiresGrad, long... shape) {
        FloatPointer p = new FloatPointer(values);
        org.bytedeco.pytorch.Tensor f = torch.from_blob(p, shape, new TensorOptions(torch.ScalarType.Float));
        org.bytedeco.pytorch.Tensor d = f.to(torch.ScalarType.Double).clone();
        p.close();
        if (requiresGrad) d.set_requires_grad(true);
        return d;
    }

    /** An int64 tensor (indices for embedding / targets). */
    public static org.bytedeco.pytorch.Tensor ofLongs(int[] values, long... shape) {
        long[] l = new long[values.length];
        for (int i = 0; i < l.length; i++) l[i] = values[i];
        LongPointer p = new LongPointer(l);
        org.bytedeco.pytorch.Tensor t = torch.from_blob(p, shape, new TensorOptions(torch.ScalarType.Long)).clone();
        p.close();
        return t;
    }

    /** Copies a reference tensor's values out as doubles (any dtype, any layout). */
    public static double[] values(org.bytedeco.pytorch.Tensor t) {
        long n = t.numel();
        DoublePointer p = new DoublePointer(n);
        org.bytedeco.pytorch.Tensor dst = torch.from_blob(p, new long[] {n}, new TensorOptions(torch.ScalarType.Double));
        dst.copy_(t.detach().reshape(n).to(torch.ScalarType.Double));
        double[] out = new double[Math.toIntExact(n)];
        p.get(out);
        p.close();
        return out;
    }

    public static int[] intValues(org.bytedeco.pytorch.Tensor t) {
        double[] d = values(t);
        int[] out = new int[d.length];
        for (int i = 0; i < d.length; i++) out[i] = (int) d[i];
        return out;
    }

    @SuppressWarnings("unused")
    private static IntPointer keep;
}
