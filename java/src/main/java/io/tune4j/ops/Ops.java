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

    // ---- linear: y[M,N] = x[M,K] w[N,K]^T (+ b[N]); N, K from w, M = x's size / K ----
    void linearForward(Tensor y, Tensor x, Tensor w, Tensor b);

    /** Shapes as in {@link #linearForward}, M = dy's size / N; w is required. */
    void linearBackward(Tensor dx, Tensor dw, Tensor db, Tensor dy, Tensor x, Tensor w);

    /**
     * w [N,K] as bf16 weights for decoding, laid out for {@link #linearForwardPacked}; null where this
     * backend or processor has no bf16 products (the caller keeps using w). The caller owns the result.
     */
    default Tensor packWeightsBf16(Tensor w) {
        return null;
    }

    /**
     * y[M,N] = bf16(x[M,K]) . bf16(w)^T (+ b[N]), sums in fp32, from {@link #packWeightsBf16}'s result of a [N,K]
     * w. The packed layout has no shape, so K and N come with it; M = x's size / K.
     */
    default void linearForwardPacked(Tensor y, Tensor x, Tensor packed, Tensor b, int K, int N) {
        throw new UnsupportedOperationException(name() + " has no bf16 packed weights");
    }

    // ---- fused LoRA: y = x w^T (+bias) + scale (drop(x) a^T) b^T ----
    // w [N,K], a [r,K] (r from it), b [N,r], x [M,K] (M = x's size / K), y [M,N], t [M,r] saved
    long loraWorkspaceFloats(int M, int K, int N, int r, float dropout);

    void loraForward(Tensor y, Tensor t, Tensor x, Tensor w, Tensor bias, Tensor a, Tensor b,
                     float scale, float dropout, long seed, Tensor ws);

    /** Shapes as in {@link #loraForward}, M = dy's size / N. */
    void loraBackward(Tensor dx, Tensor dw, Tensor dbias, Tensor da, Tensor db, Tensor dy, Tensor x, Tensor t,
                      Tensor w, Tensor a, Tensor b, float scale, float dropout, long seed, Tensor ws);

    // ---- DoRA: y = g o u (+bias), g = m / ||W + scale b a|| per output row, u = loraForward's output without bias ----
    /** Scratch for {@link #doraNorm}. */
    long doraNormWorkspaceFloats(int K, int N, int r);

    /**
     * norm[N] = the row norms of V = w + scale·b·a (w [N,K], a [r,K], b [N,r]; PEFT's column norm of V^T) and
     * g[N] = m[N] / norm (0 for a zero row; g may be null). a and b may both be null (r = 0). Detached from the
     * gradient: there is no backward.
     */
    void doraNorm(Tensor norm, Tensor g, Tensor w, Tensor a, Tensor b, Tensor m, float scale, Tensor ws);

    /** y[M,N] = g[N] o u[M,N] (+ bias[N]), g broadcast over the rows; N = g's size, M = u's size / N. */
    void doraScaleForward(Tensor y, Tensor u, Tensor g, Tensor bias);

    /**
     * du = g o dy (overwritten); dm[j] += sum_i dy_ij u_ij / norm[j]; dbias += column sums of dy. Any output may be
     * null. N = g's size, M = dy's size / N.
     */
    void doraScaleBackward(Tensor du, Tensor dm, Tensor dbias, Tensor dy, Tensor u, Tensor g, Tensor norm);

    // ---- multi-adapter LoRA for serving; inference only (no backward) ----
    /** Scratch for {@link #loraMultiForward} where every used slot's rank is at most maxRank. */
    long loraMultiWorkspaceFloats(int M, int K, int N, int maxRank);

    /**
     * Adds each row's own adapter to a base projection already in y[M,N]: for row i with slot
     * s = rowSlot[i] (I32 [M]; M is its size) >= 0, y_i += scales[s] (x_i a[s]^T) b[s]^T with x [M,K],
     * a[s] [ranks[s], K] and b[s] [N, ranks[s]]; K and N are x's and y's sizes / M. Rows with slot -1 and slots
     * of rank 0 (a[s], b[s] may be null) add nothing. The slot arrays all have one entry per slot.
     */
    void loraMultiForward(Tensor y, Tensor x, Tensor rowSlot, Tensor[] a, Tensor[] b, int[] ranks, float[] scales,
                          Tensor ws);

    // ---- bottleneck adapter: y = x + act(x down^T + downBias) up^T + upBias ; h, a [M,m] saved ----
    // down [m,d] (m and d from it), up [d,m], x and y [M,d] (M = x's size / d)
    void adapterForward(Tensor y, Tensor h, Tensor a, Tensor x, Tensor down, Tensor downBias, Tensor up,
                        Tensor upBias, Activation act);

    /** Shapes as in {@link #adapterForward}, M = dy's size / d; ws holds M*m floats. */
    void adapterBackward(Tensor dx, Tensor dDown, Tensor dDownBias, Tensor dUp, Tensor dUpBias, Tensor dy,
                         Tensor x, Tensor h, Tensor a, Tensor down, Tensor up, Activation act, Tensor ws);

    // ---- embedding: out[M,d] = table[ids]; table [V,d], ids I32 [M] ----
    void embeddingForward(Tensor out, Tensor ids, Tensor table);

    void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids);

    // ---- RMSNorm: y = x * rstd * (w + weightOffset), rstd[M] saved; y may alias x ----
    // d = w's size, x and y [M,d] (M = x's size / d)
    /** weightOffset 0 is the Llama norm, 1 Gemma's (1 + w). */
    void rmsnormForward(Tensor y, Tensor rstd, Tensor x, Tensor w, float eps, float weightOffset);

    /** dx uses w + weightOffset; dw += sum over rows of dy * x * rstd. M = dy's size / d. */
    void rmsnormBackward(Tensor dx, Tensor dw, Tensor dy, Tensor x, Tensor w, Tensor rstd, float weightOffset);

    default void rmsnormForward(Tensor y, Tensor rstd, Tensor x, Tensor w, float eps) {
        rmsnormForward(y, rstd, x, w, eps, 0f);
    }

    default void rmsnormBackward(Tensor dx, Tensor dw, Tensor dy, Tensor x, Tensor w, Tensor rstd) {
        rmsnormBackward(dx, dw, dy, x, w, rstd, 0f);
    }

    // ---- RoPE (rotate-half), in place on x [M, nh, hd] ----
    /** Fills cos and sin [maxPos, hd/2]. */
    void ropeTable(Tensor cos, Tensor sin, int maxPos, int hd, RopeScaling scaling);

    /**
     * cos and sin [maxPos, hd/2] (maxPos and hd from them), pos I32 [M], x [M, nh, hd] with nh = x's size /
     * (M * hd).
     */
    void ropeForward(Tensor x, Tensor pos, Tensor cos, Tensor sin);

    void ropeBackward(Tensor dx, Tensor pos, Tensor cos, Tensor sin);

    // ---- causal GQA attention with optional prefix, window, scale and soft cap (see AttentionShape) ----
    long attentionWorkspaceFloats(AttentionShape s);

    void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv,
                          Tensor qStart, Tensor kvStart, AttentionShape s, Tensor ws);

    void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dpk, Tensor dpv, Tensor dout, Tensor out,
                           Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv, Tensor qStart,
                           Tensor kvStart, AttentionShape s, Tensor ws);

    /**
     * Writes src [B,Tq,width] into cache [B,Tmax,..] at rows qStart[b]...: B = qStart's size, Tmax = cache.dim(1),
     * width = cache's size / (B*Tmax), Tq = src's size / (B*width).
     */
    void kvWrite(Tensor cache, Tensor src, Tensor qStart);

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

    // ---- elementwise: n = the operands' size, which they all share ----
    // ---- SwiGLU: out = silu(g) * u ----
    void swigluForward(Tensor out, Tensor g, Tensor u);

    void swigluBackward(Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u);

    // ---- GeGLU: out = gelu_tanh(g) * u (HF gelu_pytorch_tanh); out may alias g or u ----
    void gegluForward(Tensor out, Tensor g, Tensor u);

    /** Accumulates dg and du (either may be null). */
    void gegluBackward(Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u);

    // ---- elementwise activations ----
    void tanhForward(Tensor y, Tensor x);

    /** dx += dy * (1 - y^2), from the saved output y = tanh(x). */
    void tanhBackward(Tensor dx, Tensor dy, Tensor y);

    /** Soft-capping y = cap * tanh(x / cap), cap > 0 (Gemma 2); y may alias x. */
    void softcapForward(Tensor y, Tensor x, float cap);

    /** dx += dy * (1 - (y/cap)^2), from the saved output y. */
    void softcapBackward(Tensor dx, Tensor dy, Tensor y, float cap);

    // ---- residual ----
    void add(Tensor y, Tensor a, Tensor b);

    void axpy(Tensor y, float alpha, Tensor x);

    // ---- cross-entropy fused with its gradient ----
    /**
     * logits [M,V] become gradScale * dloss/dlogits in place; targets I32 [M] (M from it), losses [M], V = logits'
     * size / M. Returns the number of counted rows.
     */
    int crossEntropy(Tensor losses, Tensor logits, Tensor targets, float gradScale);

    /**
     * LM head fused with the loss; returns {summed loss, counted rows}. w [V,d] (V and d from it), targets I32 [M]
     * (M from it), h [M,d]; dh/dw may be null (evaluation). A softcap above 0 caps the logits to
     * softcap * tanh(logits / softcap) first (Gemma 2's final_logit_softcapping); 0 = none. ws holds blockRows*V.
     */
    double[] lmHeadCrossEntropy(Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets, float softcap,
                                float gradScale, Tensor ws, int blockRows);

    /** A running loss for {@link #lmHeadCrossEntropyInto}: allocate it once, before the steps that add to it. */
    default LossSum newLossSum() {
        return new LossSum();
    }

    /**
     * {@link #lmHeadCrossEntropy(Tensor, Tensor, Tensor, Tensor, Tensor, float, float, Tensor, int)} adding its
     * {summed loss, counted rows} to acc instead of returning them: on a GPU nothing is read back until
     * {@link LossSum#take}, once a step.
     */
    default void lmHeadCrossEntropyInto(LossSum acc, Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets,
                                        float softcap, float gradScale, Tensor ws, int blockRows) {
        double[] r = lmHeadCrossEntropy(dh, dw, h, w, targets, softcap, gradScale, ws, blockRows);
        acc.add(r[0], r[1]);
    }

    /** {@link #lmHeadCrossEntropy(Tensor, Tensor, Tensor, Tensor, Tensor, float, float, Tensor, int)} without a soft cap. */
    default double[] lmHeadCrossEntropy(Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets, float gradScale,
                                        Tensor ws, int blockRows) {
        return lmHeadCrossEntropy(dh, dw, h, w, targets, 0f, gradScale, ws, blockRows);
    }

    /**
     * The LM head's per-sequence log-likelihoods over a batch of B sequences of T rows (T = targets' size / B; w
     * and h as in lmHeadCrossEntropy): logp[b] is the summed log p(target) of sequence b's counted rows, counts[b]
     * their number. With dh/dw (accumulated) and seqWeight[B] it adds the gradient of sum_b seqWeight[b] * logp[b].
     * Returns the counted rows. softcap as in
     * {@link #lmHeadCrossEntropy(Tensor, Tensor, Tensor, Tensor, Tensor, float, float, Tensor, int)}.
     */
    default int lmHeadSequenceLogProbs(double[] logp, int[] counts, Tensor dh, Tensor dw, Tensor h, Tensor w,
                                       Tensor targets, float[] seqWeight, int B, float softcap, Tensor ws,
                                       int blockRows) {
        throw new UnsupportedOperationException(name() + ": per-sequence log-probabilities (preference tuning) "
                + "are not implemented on this backend");
    }

    /** Without a soft cap. */
    default int lmHeadSequenceLogProbs(double[] logp, int[] counts, Tensor dh, Tensor dw, Tensor h, Tensor w,
                                       Tensor targets, float[] seqWeight, int B, Tensor ws, int blockRows) {
        return lmHeadSequenceLogProbs(logp, counts, dh, dw, h, w, targets, seqWeight, B, 0f, ws, blockRows);
    }

    // ---- optimiser: n = p's size, shared by g, m and v ----
    void adamw(Tensor p, Tensor g, Tensor m, Tensor v, AdamWParams params, int step);

    double sumOfSquares(Tensor x);

    /**
     * The sum of squares of every element of every tensor (the global gradient norm's square). A backend
     * with its own memory does it in one pass and one read back, not one per tensor.
     */
    default double sumOfSquares(java.util.List<Tensor> xs) {
        double sq = 0;
        for (Tensor x : xs) sq += sumOfSquares(x);
        return sq;
    }

    void scale(Tensor x, float s);

    // ---- sampling ----
    /** V = logits' size; the first nRecent ids of recent are the repetition window; ws holds 2*V floats. */
    int sample(Tensor logits, SamplingParams params, Tensor recent, int nRecent, float coin, Tensor ws);

    /** The index of x's largest element. */
    int argmax(Tensor x);

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
        } catch (RuntimeException | Error e) {
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
        } catch (RuntimeException | Error e) {
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
