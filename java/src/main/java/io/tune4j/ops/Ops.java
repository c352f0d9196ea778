package io.tune4j.ops;

import io.tune4j.tensor.Allocator;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;

/**
 * The op API shared by every backend (CPU now, CUDA next). The model and trainers call only this.
 *
 * <p>Conventions (the same as native/include/tune4j.h): forward ops overwrite outputs; backward
 * ops accumulate (+=) into every gradient they receive; a null gradient is skipped. Shapes are
 * row-major and named in each method's documentation. Scratch tensors ("ws") are sized by the
 * matching {@code *WorkspaceFloats} method and allocated once by the caller, never per step.
 *
 * <p>The backend owns memory: the model, PEFT state, optimizer, KV cache and step buffers allocate
 * through it ({@link #allocate}, or an {@code Arena(ops)}), so a whole step runs on one device;
 * host data crosses only at {@link #write}, {@link #copy} and the read methods.
 */
public interface Ops extends Allocator {

    String name();

    /**
     * Selects the precision of this backend's matrix products for the calling thread (a training
     * job and the server's decoding thread can differ) and returns the precision now in force,
     * which is FP32 where the backend or the processor cannot do BF16.
     */
    MatmulPrecision setMatmulPrecision(MatmulPrecision precision);

    /** The calling thread's matrix-product precision. */
    MatmulPrecision matmulPrecision();

    // ---- linear: y[M,N] = x[M,K] w[N,K]^T (+ b[N]) ----
    void linearForward(Tensor y, Tensor x, Tensor w, Tensor b, int M, int K, int N);

    void linearBackward(Tensor dx, Tensor dw, Tensor db, Tensor dy, Tensor x, Tensor w, int M, int K, int N);

    /**
     * w [N,K] as bf16 weights for decoding, laid out for {@link #linearForwardPacked}; null where this
     * backend or processor has no bf16 products (the caller keeps using w). The caller owns the result.
     */
    default Tensor packWeightsBf16(Tensor w, int N, int K) {
        return null;
    }

    /** y = bf16(x) . bf16(w)^T (+ b), sums in fp32, from {@link #packWeightsBf16}'s result. */
    default void linearForwardPacked(Tensor y, Tensor x, Tensor packed, Tensor b, int M, int K, int N) {
        throw new UnsupportedOperationException(name() + " has no bf16 packed weights");
    }

    // ---- fused LoRA: y = x w^T (+bias) + scale (drop(x) a^T) b^T ; a [r,K], b [N,r]; t [M,r] saved ----
    long loraWorkspaceFloats(int M, int K, int N, int r, float dropout);

    void loraForward(Tensor y, Tensor t, Tensor x, Tensor w, Tensor bias, Tensor a, Tensor b,
                     int M, int K, int N, int r, float scale, float dropout, long seed, Tensor ws);

    void loraBackward(Tensor dx, Tensor dw, Tensor dbias, Tensor da, Tensor db, Tensor dy, Tensor x, Tensor t,
                      Tensor w, Tensor a, Tensor b, int M, int K, int N, int r, float scale, float dropout,
                      long seed, Tensor ws);

    // ---- DoRA: y = g o u (+bias), g = m / ||W + scale b a|| per output row, u = loraForward's output without bias ----
    /** Scratch for {@link #doraNorm}. */
    long doraNormWorkspaceFloats(int K, int N, int r);

    /**
     * norm[N] = the row norms of V = w + scale·b·a ([N,K]; PEFT's column norm of V^T) and g[N] = m / norm
     * (0 for a zero row; g may be null). Detached from the gradient: there is no backward.
     */
    void doraNorm(Tensor norm, Tensor g, Tensor w, Tensor a, Tensor b, Tensor m, int K, int N, int r, float scale,
                  Tensor ws);

    /** y[M,N] = g[N] o u[M,N] (+ bias[N]), g broadcast over the rows. */
    void doraScaleForward(Tensor y, Tensor u, Tensor g, Tensor bias, int M, int N);

    /** du = g o dy (overwritten); dm[j] += sum_i dy_ij u_ij / norm[j]; dbias += column sums of dy. Any output may be null. */
    void doraScaleBackward(Tensor du, Tensor dm, Tensor dbias, Tensor dy, Tensor u, Tensor g, Tensor norm, int M, int N);

    // ---- multi-adapter LoRA for serving; inference only (no backward) ----
    /** Scratch for {@link #loraMultiForward} where every used slot's rank is at most maxRank. */
    long loraMultiWorkspaceFloats(int M, int K, int N, int maxRank);

    /**
     * Adds each row's own adapter to a base projection already in y[M,N]: for row i with slot
     * s = rowSlot[i] (I32 [M]) >= 0, y_i += scales[s] (x_i a[s]^T) b[s]^T with a[s] [ranks[s], K] and
     * b[s] [N, ranks[s]]. Rows with slot -1 and slots of rank 0 (a[s], b[s] may be null) add nothing.
     * The slot arrays all have one entry per slot.
     */
    void loraMultiForward(Tensor y, Tensor x, Tensor rowSlot, Tensor[] a, Tensor[] b, int[] ranks, float[] scales,
                          int M, int K, int N, Tensor ws);

    // ---- bottleneck adapter: y = x + act(x down^T + downBias) up^T + upBias ; h, a [M,m] saved ----
    void adapterForward(Tensor y, Tensor h, Tensor a, Tensor x, Tensor down, Tensor downBias, Tensor up,
                        Tensor upBias, int M, int d, int m, Activation act);

    void adapterBackward(Tensor dx, Tensor dDown, Tensor dDownBias, Tensor dUp, Tensor dUpBias, Tensor dy,
                         Tensor x, Tensor h, Tensor a, Tensor down, Tensor up, int M, int d, int m,
                         Activation act, Tensor ws);

    // ---- embedding: out[M,d] = table[ids] ----
    void embeddingForward(Tensor out, Tensor ids, Tensor table, int M, int V, int d);

    void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids, int M, int V, int d);

    // ---- RMSNorm: y = x * rstd * (w + weightOffset), rstd[M] saved; y may alias x ----
    /** weightOffset 0 is the Llama norm, 1 Gemma's (1 + w). */
    void rmsnormForward(Tensor y, Tensor rstd, Tensor x, Tensor w, int M, int d, float eps, float weightOffset);

    /** dx uses w + weightOffset; dw += sum over rows of dy * x * rstd. */
    void rmsnormBackward(Tensor dx, Tensor dw, Tensor dy, Tensor x, Tensor w, Tensor rstd, int M, int d,
                         float weightOffset);

    default void rmsnormForward(Tensor y, Tensor rstd, Tensor x, Tensor w, int M, int d, float eps) {
        rmsnormForward(y, rstd, x, w, M, d, eps, 0f);
    }

    default void rmsnormBackward(Tensor dx, Tensor dw, Tensor dy, Tensor x, Tensor w, Tensor rstd, int M, int d) {
        rmsnormBackward(dx, dw, dy, x, w, rstd, M, d, 0f);
    }

    // ---- RoPE (rotate-half), in place on x [M, nh, hd] ----
    void ropeTable(Tensor cos, Tensor sin, int maxPos, int hd, RopeScaling scaling);

    void ropeForward(Tensor x, Tensor pos, Tensor cos, Tensor sin, int M, int nh, int hd, int maxPos);

    void ropeBackward(Tensor dx, Tensor pos, Tensor cos, Tensor sin, int M, int nh, int hd, int maxPos);

    // ---- causal GQA attention with optional prefix, window, scale and soft cap (see AttentionShape) ----
    long attentionWorkspaceFloats(AttentionShape s);

    void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv,
                          Tensor qStart, Tensor kvStart, AttentionShape s, Tensor ws);

    void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dpk, Tensor dpv, Tensor dout, Tensor out,
                           Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv, Tensor qStart,
                           Tensor kvStart, AttentionShape s, Tensor ws);

    /** Writes src [B,Tq,width] into cache [B,Tmax,width] at rows qStart[b]... */
    void kvWrite(Tensor cache, Tensor src, Tensor qStart, int B, int Tq, int Tmax, int width);

    // ---- column blocks: splitting fused projections (Phi-3's qkv_proj, gate_up_proj), concatenating gradients ----
    /**
     * Copies a block of columns between row-major matrices: dst[r, dstCol + j] = src[r, srcCol + j] for r < rows,
     * j < cols. The matrices' widths are their dim(1) (a 1-D tensor is not accepted); each needs at least rows rows.
     * dst and src must not overlap.
     *
     * <p>Both must be 2-D F32 tensors of this backend; a negative count or column, a block beyond either width,
     * more rows than either holds, or overlapping memory is refused with an IllegalArgumentException naming the
     * argument. Columns outside the block and rows from rows on are left untouched.
     */
    void copyColumns(Tensor dst, int dstCol, Tensor src, int srcCol, int rows, int cols);

    // ---- SwiGLU: out = silu(g) * u ----
    void swigluForward(Tensor out, Tensor g, Tensor u, long n);

    void swigluBackward(Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u, long n);

    // ---- GeGLU: out = gelu_tanh(g) * u (HF gelu_pytorch_tanh); out may alias g or u ----
    void gegluForward(Tensor out, Tensor g, Tensor u, long n);

    /** Accumulates dg and du (either may be null). */
    void gegluBackward(Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u, long n);

    // ---- elementwise activations ----
    void tanhForward(Tensor y, Tensor x, long n);

    /** dx += dy * (1 - y^2), from the saved output y = tanh(x). */
    void tanhBackward(Tensor dx, Tensor dy, Tensor y, long n);

    /** Soft-capping y = cap * tanh(x / cap), cap > 0 (Gemma 2); y may alias x. */
    void softcapForward(Tensor y, Tensor x, float cap, long n);

    /** dx += dy * (1 - (y/cap)^2), from the saved output y. */
    void softcapBackward(Tensor dx, Tensor dy, Tensor y, float cap, long n);

    // ---- residual ----
    void add(Tensor y, Tensor a, Tensor b, long n);

    void axpy(Tensor y, float alpha, Tensor x, long n);

    // ---- cross-entropy fused with its gradient ----
    /** logits [M,V] become gradScale * dloss/dlogits in place; returns the number of counted rows. */
    int crossEntropy(Tensor losses, Tensor logits, Tensor targets, int M, int V, float gradScale);

    /**
     * LM head fused with the loss; returns {summed loss, counted rows}. dh/dw may be null (evaluation). A softcap
     * above 0 caps the logits to softcap * tanh(logits / softcap) first (Gemma 2's final_logit_softcapping); 0 = none.
     */
    double[] lmHeadCrossEntropy(Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets, int M, int d, int V,
                                float softcap, float gradScale, Tensor ws, int blockRows);

    /** {@link #lmHeadCrossEntropy(Tensor, Tensor, Tensor, Tensor, Tensor, int, int, int, float, float, Tensor, int)} without a soft cap. */
    default double[] lmHeadCrossEntropy(Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets, int M, int d, int V,
                                        float gradScale, Tensor ws, int blockRows) {
        return lmHeadCrossEntropy(dh, dw, h, w, targets, M, d, V, 0f, gradScale, ws, blockRows);
    }

    /**
     * The LM head's per-sequence log-likelihoods over a batch of B sequences of T rows: logp[b] is the summed
     * log p(target) of sequence b's counted rows, counts[b] their number. With dh/dw (accumulated) and
     * seqWeight[B] it adds the gradient of sum_b seqWeight[b] * logp[b]. Returns the counted rows. softcap as in
     * {@link #lmHeadCrossEntropy(Tensor, Tensor, Tensor, Tensor, Tensor, int, int, int, float, float, Tensor, int)}.
     */
    default int lmHeadSequenceLogProbs(double[] logp, int[] counts, Tensor dh, Tensor dw, Tensor h, Tensor w,
                                       Tensor targets, float[] seqWeight, int B, int T, int d, int V, float softcap,
                                       Tensor ws, int blockRows) {
        throw new UnsupportedOperationException(name() + ": per-sequence log-probabilities (preference tuning) "
                + "are not implemented on this backend");
    }

    /** Without a soft cap. */
    default int lmHeadSequenceLogProbs(double[] logp, int[] counts, Tensor dh, Tensor dw, Tensor h, Tensor w,
                                       Tensor targets, float[] seqWeight, int B, int T, int d, int V, Tensor ws,
                                       int blockRows) {
        return lmHeadSequenceLogProbs(logp, counts, dh, dw, h, w, targets, seqWeight, B, T, d, V, 0f, ws, blockRows);
    }

    // ---- optimiser ----
    void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long n, AdamWParams params, int step);

    double sumOfSquares(Tensor x, long n);

    void scale(Tensor x, float s, long n);

    // ---- sampling ----
    int sample(Tensor logits, int V, SamplingParams params, Tensor recent, int nRecent, float coin, Tensor ws);

    int argmax(Tensor x, int n);

    // ---- memory: tensors of this backend, and the crossings to and from the host ----
    /** Where this backend's tensors live. */
    @Override
    Device device();

    /** An uninitialised tensor on this backend, freed on close; counted in {@link #allocations}. */
    @Override
    Tensor allocate(DType dtype, long... shape);

    @Override
    void fill(Tensor t, float value);

    /**
     * dst = src for tensors of equal byte size, each on the host or on this backend (host to device,
     * device to host, device to device). Ordered with this backend's ops: a copy to the host returns
     * when the values are there.
     */
    void copy(Tensor dst, Tensor src);

    /** Host values into a tensor of this backend (I32, length = numel). */
    void write(Tensor dst, int[] values);

    /** Host values into a tensor of this backend (F32, length = numel). */
    void write(Tensor dst, float[] values);

    /** An F32 tensor's values on the host. */
    float[] readFloats(Tensor t);

    /** An I32 tensor's values on the host. */
    int[] readInts(Tensor t);

    /** A new F32 tensor of this backend holding host values. */
    default Tensor tensor(float[] values, long... shape) {
        Tensor out = allocate(DType.F32, shape);
        try {
            write(out, values);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** A tensor of this backend holding a copy of t (from the host or from this backend). */
    default Tensor copyOf(Tensor t) {
        Tensor out = allocate(t.dtype(), t.shape());
        try {
            copy(out, t);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /**
     * t where it already lives on this backend (no copy, the caller keeps ownership), else a copy on
     * this backend that {@code owner} frees: the way host weights (a mapped file) reach a device.
     */
    default Tensor resident(Tensor t, io.tune4j.tensor.Arena owner) {
        return t.device() == device() ? t : owner.adopt(copyOf(t));
    }

    /** Waits until every op issued so far has finished. */
    void synchronize();

    /** How many tensors {@link #allocate} has handed out since the process started (a step allocates none). */
    long allocations();
}
