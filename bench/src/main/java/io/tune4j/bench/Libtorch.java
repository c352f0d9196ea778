package io.tune4j.bench;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** libtorch helpers shared by the op benchmarks and the decode model. */
final class Libtorch {
    private static final BoolOptional NO_RETAIN = new BoolOptional();
    private static final TensorArrayRefOptional ALL_INPUTS = new TensorArrayRefOptional();

    private Libtorch() {}

    /**
     * libtorch's intra-op threads, and those of the OpenBLAS it shares with tune4j (one copy per
     * process: same soname), which tune4j leaves single-threaded.
     */
    static void setThreads(int n) {
        torch.set_num_threads(n);
        io.tune4j.runtime.NativeLib.t4j_set_shared_blas_threads(n);
    }

    static Tensor floats(float[] values, long... shape) {
        try (FloatPointer p = new FloatPointer(values)) {
            // from_blob only borrows p: clone so the tensor owns its storage
            return torch.from_blob(p, shape, new TensorOptions(torch.ScalarType.Float)).clone();
        }
    }

    static Tensor longs(int[] values, long... shape) {
        long[] l = new long[values.length];
        for (int i = 0; i < l.length; i++) l[i] = values[i];
        try (LongPointer p = new LongPointer(l)) {
            return torch.from_blob(p, shape, new TensorOptions(torch.ScalarType.Long)).clone();
        }
    }

    /**
     * x w^T in the run's precision: under bf16 the operands are cast (a weight already held in bf16,
     * as a frozen base model would be, is used as it is) and the product comes back as fp32.
     */
    static Tensor linear(Tensor x, Tensor w) {
        if (!Env.bf16()) return torch.linear(x, w);
        Tensor wb = w.scalar_type() == torch.ScalarType.BFloat16 ? w : w.to(torch.ScalarType.BFloat16);
        return torch.linear(x.to(torch.ScalarType.BFloat16), wb).to(torch.ScalarType.Float);
    }

    /** x w^T + b (b may be null: no bias) in the run's precision; the bias is added in fp32. */
    static Tensor linear(Tensor x, Tensor w, Tensor b) {
        if (b == null) return linear(x, w);
        if (!Env.bf16()) return torch.linear(x, w, b);
        return linear(x, w).add(b);
    }

    /**
     * Refuses a family feature that the libtorch models here do not write out (they have Llama's block
     * plus projection biases), so that a comparison never runs different math.
     */
    static void requireLlamaBlock(io.tune4j.model.LlamaConfig cfg) {
        var f = cfg.features();
        if (f.qkNorm() || f.slidingWindow() != 0 || !"silu".equals(cfg.hiddenAct())) {
            throw new IllegalArgumentException("the libtorch peer has no " + f.modelType() + " features beyond biases: " + f);
        }
    }

    /** A frozen weight as the run's precision keeps it: bf16 under bf16, else itself. */
    static Tensor frozen(Tensor w) {
        return Env.bf16() ? w.to(torch.ScalarType.BFloat16) : w;
    }

    /** Backward from a non-scalar output with upstream gradient dy, as a layer inside a model sees it. */
    static void backward(Tensor y, Tensor dy) {
        y.backward(dy, NO_RETAIN, false, ALL_INPUTS);
    }
}
