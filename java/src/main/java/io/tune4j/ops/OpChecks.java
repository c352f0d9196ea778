package io.tune4j.ops;

import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;

/**
 * The argument checks of every {@link Ops} method, shared by the backends so that a tensor too small for
 * the dimensions it comes with is refused in Java on every device: native code trusts the sizes it is
 * given, and on a GPU an undersized buffer is a silent out-of-bounds write rather than a crash.
 *
 * <p>Each method takes the backend's device and the op's arguments, and throws IllegalArgumentException
 * naming the op and the argument. A null tensor is an argument the op skips (an optional bias or gradient);
 * where the op cannot skip it, the method says so. Workspace sizes differ per backend, so the backend passes
 * the size its own {@code *WorkspaceFloats} reports.
 */
public final class OpChecks {
    private OpChecks() {}

    // ---- linear ----

    public static void linear(Device dev, Tensor y, Tensor x, Tensor w, Tensor b, int M, int K, int N) {
        f(dev, "linear y", y, (long) M * N); f(dev, "linear x", x, (long) M * K); f(dev, "linear w", w, (long) N * K);
        f(dev, "linear b", b, N);
        sizes("linear", "M,K,N", M, K, N);
    }

    public static void linearBackward(Device dev, Tensor dx, Tensor dw, Tensor db, Tensor dy, Tensor x, Tensor w,
                                      int M, int K, int N) {
        f(dev, "linear dx", dx, (long) M * K); f(dev, "linear dw", dw, (long) N * K); f(dev, "linear db", db, N);
        f(dev, "linear dy", dy, (long) M * N); f(dev, "linear x", x, (long) M * K); f(dev, "linear w", w, (long) N * K);
        sizes("linear backward", "M,K,N", M, K, N);
    }

    public static void packWeights(Device dev, Tensor w, int N, int K) {
        f(dev, "pack w", w, (long) N * K);
        sizes("pack", "N,K", N, K);
    }

    /** packedElems: what the backend's packing produces for [N,K]. */
    public static void linearPacked(Device dev, Tensor y, Tensor x, Tensor packed, Tensor b, int M, int K, int N,
                                    long packedElems) {
        f(dev, "linear y", y, (long) M * N); f(dev, "linear x", x, (long) M * K); f(dev, "linear b", b, N);
        if (packed == null || packed.device() != dev || packed.dtype() != DType.BF16 || packed.numel() < packedElems) {
            throw new IllegalArgumentException("linear packed w: expected packWeightsBf16's result for " + N + "x" + K
                    + ", got " + packed);
        }
        sizes("linear packed", "M,K,N", M, K, N);
    }

    // ---- LoRA, DoRA ----

    public static void lora(Device dev, Tensor y, Tensor t, Tensor x, Tensor w, Tensor bias, Tensor a, Tensor b,
                            int M, int K, int N, int r, Tensor ws, long wsFloats) {
        f(dev, "lora y", y, (long) M * N); f(dev, "lora t", t, (long) M * r); f(dev, "lora x", x, (long) M * K);
        f(dev, "lora w", w, (long) N * K); f(dev, "lora bias", bias, N); f(dev, "lora A", a, (long) r * K);
        f(dev, "lora B", b, (long) N * r); f(dev, "lora ws", ws, wsFloats);
        sizes("lora", "M,K,N,r", M, K, N, r);
    }

    public static void loraBackward(Device dev, Tensor dx, Tensor dw, Tensor dbias, Tensor da, Tensor db, Tensor dy,
                                    Tensor x, Tensor t, Tensor w, Tensor a, Tensor b, int M, int K, int N, int r,
                                    Tensor ws, long wsFloats) {
        f(dev, "lora dx", dx, (long) M * K); f(dev, "lora dW", dw, (long) N * K); f(dev, "lora dbias", dbias, N);
        f(dev, "lora dA", da, (long) r * K); f(dev, "lora dB", db, (long) N * r); f(dev, "lora dy", dy, (long) M * N);
        f(dev, "lora x", x, (long) M * K); f(dev, "lora t", t, (long) M * r); f(dev, "lora w", w, (long) N * K);
        f(dev, "lora A", a, (long) r * K); f(dev, "lora B", b, (long) N * r); f(dev, "lora ws", ws, wsFloats);
        sizes("lora backward", "M,K,N,r", M, K, N, r);
    }

    public static void doraNorm(Device dev, Tensor norm, Tensor g, Tensor w, Tensor a, Tensor b, Tensor m, int K, int N,
                                int r, Tensor ws, long wsFloats) {
        f(dev, "dora norm", norm, N); f(dev, "dora g", g, N); f(dev, "dora w", w, (long) N * K);
        f(dev, "dora A", a, (long) r * K); f(dev, "dora B", b, (long) N * r); f(dev, "dora magnitude", m, N);
        f(dev, "dora ws", ws, wsFloats);
        if (norm == null || w == null || (g != null && m == null) || (r > 0 && (a == null || b == null))) {
            throw new IllegalArgumentException("dora norm: norm, w (and m for g, A and B for r > 0) are required");
        }
        if (ws == null && wsFloats > 0) throw new IllegalArgumentException("dora ws: a workspace is required");
        sizes("dora norm", "K,N,r", K, N, r);
    }

    public static void doraScale(Device dev, Tensor y, Tensor u, Tensor g, Tensor bias, int M, int N) {
        f(dev, "dora y", y, (long) M * N); f(dev, "dora u", u, (long) M * N); f(dev, "dora g", g, N);
        f(dev, "dora bias", bias, N);
        if (y == null || u == null || g == null) throw new IllegalArgumentException("dora scale: y, u and g are required");
        sizes("dora scale", "M,N", M, N);
    }

    public static void doraScaleBackward(Device dev, Tensor du, Tensor dm, Tensor dbias, Tensor dy, Tensor u, Tensor g,
                                         Tensor norm, int M, int N) {
        f(dev, "dora du", du, (long) M * N); f(dev, "dora dm", dm, N); f(dev, "dora dbias", dbias, N);
        f(dev, "dora dy", dy, (long) M * N); f(dev, "dora u", u, (long) M * N); f(dev, "dora g", g, N);
        f(dev, "dora norm", norm, N);
        if (dy == null || g == null || (dm != null && (u == null || norm == null))) {
            throw new IllegalArgumentException("dora scale backward: dy and g (and u and norm for dm) are required");
        }
        sizes("dora scale backward", "M,N", M, N);
    }

    /**
     * The tensors and slot tables of {@link Ops#loraMultiForward}; returns the slot count. The workspace is
     * checked apart ({@link #loraMultiWorkspace}) because its size depends on ranks, valid only from here on.
     */
    public static int loraMulti(Device dev, Tensor y, Tensor x, Tensor rowSlot, Tensor[] a, Tensor[] b, int[] ranks,
                                float[] scales, int M, int K, int N) {
        int n = LoraSlots.check("lora-multi", a, b, ranks, scales, K, N);
        LoraSlots.requireRows("lora-multi", y, x, rowSlot, M);
        f(dev, "lora-multi y", y, (long) M * N); f(dev, "lora-multi x", x, (long) M * K);
        i(dev, "lora-multi row slots", rowSlot, M);
        for (int s = 0; s < n; s++) {
            if (ranks[s] == 0) continue;
            f(dev, "lora-multi A[" + s + "]", a[s], (long) ranks[s] * K);
            f(dev, "lora-multi B[" + s + "]", b[s], (long) N * ranks[s]);
        }
        return n;
    }

    public static void loraMultiWorkspace(Device dev, Tensor ws, int M, long wsFloats) {
        f(dev, "lora-multi ws", ws, wsFloats);
        if (ws == null && M > 0) throw new IllegalArgumentException("lora-multi ws: a workspace is required");
    }

    // ---- bottleneck adapter ----

    public static void adapter(Device dev, Tensor y, Tensor h, Tensor act, Tensor x, Tensor down, Tensor downBias,
                               Tensor up, Tensor upBias, int M, int d, int m) {
        f(dev, "adapter y", y, (long) M * d); f(dev, "adapter h", h, (long) M * m); f(dev, "adapter a", act, (long) M * m);
        f(dev, "adapter x", x, (long) M * d); f(dev, "adapter down", down, (long) m * d);
        f(dev, "adapter down bias", downBias, m); f(dev, "adapter up", up, (long) d * m);
        f(dev, "adapter up bias", upBias, d);
        sizes("adapter", "M,d,m", M, d, m);
    }

    /** ws: M*m floats on every backend. */
    public static void adapterBackward(Device dev, Tensor dx, Tensor dDown, Tensor dDownBias, Tensor dUp,
                                       Tensor dUpBias, Tensor dy, Tensor x, Tensor h, Tensor act, Tensor down,
                                       Tensor up, int M, int d, int m, Tensor ws) {
        f(dev, "adapter dx", dx, (long) M * d); f(dev, "adapter dDown", dDown, (long) m * d);
        f(dev, "adapter dDownBias", dDownBias, m); f(dev, "adapter dUp", dUp, (long) d * m);
        f(dev, "adapter dUpBias", dUpBias, d); f(dev, "adapter dy", dy, (long) M * d); f(dev, "adapter x", x, (long) M * d);
        f(dev, "adapter h", h, (long) M * m); f(dev, "adapter a", act, (long) M * m); f(dev, "adapter down", down, (long) m * d);
        f(dev, "adapter up", up, (long) d * m); f(dev, "adapter ws", ws, (long) M * m);
        sizes("adapter backward", "M,d,m", M, d, m);
    }

    // ---- embedding, norms, RoPE ----

    public static void embedding(Device dev, Tensor out, Tensor ids, Tensor table, int M, int V, int d) {
        f(dev, "embedding out", out, (long) M * d); i(dev, "embedding ids", ids, M);
        f(dev, "embedding table", table, (long) V * d);
        sizes("embedding", "M,V,d", M, V, d);
    }

    public static void embeddingBackward(Device dev, Tensor dTable, Tensor dOut, Tensor ids, int M, int V, int d) {
        f(dev, "embedding dTable", dTable, (long) V * d); f(dev, "embedding dOut", dOut, (long) M * d);
        i(dev, "embedding ids", ids, M);
        sizes("embedding backward", "M,V,d", M, V, d);
    }

    public static void rmsnorm(Device dev, Tensor y, Tensor rstd, Tensor x, Tensor w, int M, int d, float weightOffset) {
        f(dev, "rmsnorm y", y, (long) M * d); f(dev, "rmsnorm rstd", rstd, M); f(dev, "rmsnorm x", x, (long) M * d);
        f(dev, "rmsnorm w", w, d);
        SoftCap.requireFiniteOffset("rmsnorm", weightOffset);
        sizes("rmsnorm", "M,d", M, d);
    }

    public static void rmsnormBackward(Device dev, Tensor dx, Tensor dw, Tensor dy, Tensor x, Tensor w, Tensor rstd,
                                       int M, int d, float weightOffset) {
        f(dev, "rmsnorm dx", dx, (long) M * d); f(dev, "rmsnorm dw", dw, d); f(dev, "rmsnorm dy", dy, (long) M * d);
        f(dev, "rmsnorm x", x, (long) M * d); f(dev, "rmsnorm w", w, d); f(dev, "rmsnorm rstd", rstd, M);
        SoftCap.requireFiniteOffset("rmsnorm backward", weightOffset);
        sizes("rmsnorm backward", "M,d", M, d);
    }

    /** The fused h = x + r, y = rmsnorm(h) w (a CUDA op; h may alias x or r). */
    public static void addRmsnorm(Device dev, Tensor h, Tensor y, Tensor rstd, Tensor x, Tensor r, Tensor w, int M,
                                  int d) {
        f(dev, "add+rmsnorm h", h, (long) M * d); f(dev, "add+rmsnorm y", y, (long) M * d);
        f(dev, "add+rmsnorm rstd", rstd, M); f(dev, "add+rmsnorm x", x, (long) M * d);
        f(dev, "add+rmsnorm r", r, (long) M * d); f(dev, "add+rmsnorm w", w, d);
        sizes("add+rmsnorm", "M,d", M, d);
    }

    public static void ropeTable(Device dev, Tensor cos, Tensor sin, int maxPos, int hd) {
        f(dev, "rope cos", cos, (long) maxPos * (hd / 2)); f(dev, "rope sin", sin, (long) maxPos * (hd / 2));
        sizes("rope table", "maxPos,hd", maxPos, hd);
    }

    public static void rope(Device dev, Tensor x, Tensor pos, Tensor cos, Tensor sin, int M, int nh, int hd, int maxPos) {
        rope(dev, "rope x", x, pos, cos, sin, M, nh, hd, maxPos);
    }

    public static void ropeBackward(Device dev, Tensor dx, Tensor pos, Tensor cos, Tensor sin, int M, int nh, int hd,
                                    int maxPos) {
        rope(dev, "rope dx", dx, pos, cos, sin, M, nh, hd, maxPos);
    }

    private static void rope(Device dev, String what, Tensor x, Tensor pos, Tensor cos, Tensor sin, int M, int nh,
                             int hd, int maxPos) {
        f(dev, what, x, (long) M * nh * hd); i(dev, "rope positions", pos, M);
        f(dev, "rope cos", cos, (long) maxPos * (hd / 2)); f(dev, "rope sin", sin, (long) maxPos * (hd / 2));
        sizes("rope", "M,nh,hd,maxPos", M, nh, hd, maxPos);
    }

    // ---- attention and the KV cache (the shape validates its own dimensions) ----

    /** ws may be null here; the backend refuses that where it needs one. */
    public static void attention(Device dev, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv,
                                 Tensor qStart, Tensor kvStart, AttentionShape s, Tensor ws, long wsFloats) {
        attentionTensors(dev, s, out, lse, q, k, v, pk, pv, qStart, kvStart, ws, wsFloats);
        prefixGiven(s, pk, pv);
    }

    /** The gradients are checked against the sizes of what they are gradients of. */
    public static void attentionBackward(Device dev, Tensor dq, Tensor dk, Tensor dv, Tensor dpk, Tensor dpv,
                                         Tensor dout, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk,
                                         Tensor pv, Tensor qStart, Tensor kvStart, AttentionShape s, Tensor ws,
                                         long wsFloats) {
        attention(dev, out, lse, q, k, v, pk, pv, qStart, kvStart, s, ws, wsFloats);
        attentionTensors(dev, s, dout, null, dq, dk, dv, dpk, dpv, null, null, null, 0);
    }

    private static void attentionTensors(Device dev, AttentionShape s, Tensor out, Tensor lse, Tensor q, Tensor k,
                                         Tensor v, Tensor pk, Tensor pv, Tensor qStart, Tensor kvStart, Tensor ws,
                                         long wsFloats) {
        long rows = (long) s.B() * s.Tq();
        long kv = (long) s.B() * s.Tk() * s.nkv() * s.hd();
        long prefix = (long) s.P() * s.nkv() * s.hd();
        f(dev, "attention out", out, rows * s.nh() * s.hd());
        f(dev, "attention lse", lse, rows * s.nh());
        f(dev, "attention q", q, rows * s.nh() * s.hd());
        f(dev, "attention k", k, kv);
        f(dev, "attention v", v, kv);
        f(dev, "attention prefix keys", pk, prefix);
        f(dev, "attention prefix values", pv, prefix);
        i(dev, "attention q_start", qStart, s.B());
        i(dev, "attention kv_start", kvStart, rows);
        f(dev, "attention ws", ws, wsFloats);
    }

    private static void prefixGiven(AttentionShape s, Tensor pk, Tensor pv) {
        if (s.P() > 0 && (pk == null || pv == null)) {
            throw new IllegalArgumentException("attention: P = " + s.P() + " needs prefix keys and values");
        }
    }

    public static void kvWrite(Device dev, Tensor cache, Tensor src, Tensor qStart, int B, int Tq, int Tmax, int width) {
        f(dev, "kv cache", cache, (long) B * Tmax * width); f(dev, "kv source", src, (long) B * Tq * width);
        i(dev, "kv q_start", qStart, B);
        sizes("kv write", "B,Tq,Tmax,width", B, Tq, Tmax, width);
    }

    /** Device and dtype here; the block, shapes and overlap in {@link ColumnCopy}. */
    public static void copyColumns(Device dev, Tensor dst, int dstCol, Tensor src, int srcCol, int rows, int cols) {
        f(dev, "copyColumns dst", dst, 0); f(dev, "copyColumns src", src, 0);
        ColumnCopy.check(dst, dstCol, src, srcCol, rows, cols);
    }

    // ---- elementwise ----

    public static void swiglu(Device dev, Tensor out, Tensor g, Tensor u, long n) {
        f(dev, "swiglu out", out, n); f(dev, "swiglu g", g, n); f(dev, "swiglu u", u, n);
        size("swiglu n", n);
    }

    public static void swigluBackward(Device dev, Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u, long n) {
        f(dev, "swiglu dg", dg, n); f(dev, "swiglu du", du, n); f(dev, "swiglu dout", dout, n); f(dev, "swiglu g", g, n);
        f(dev, "swiglu u", u, n);
        size("swiglu backward n", n);
    }

    public static void geglu(Device dev, Tensor out, Tensor g, Tensor u, long n) {
        f(dev, "geglu out", out, n); f(dev, "geglu g", g, n); f(dev, "geglu u", u, n);
        if (out == null || g == null || u == null) throw new IllegalArgumentException("geglu: out, g and u are required");
        size("geglu n", n);
    }

    public static void gegluBackward(Device dev, Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u, long n) {
        f(dev, "geglu dg", dg, n); f(dev, "geglu du", du, n); f(dev, "geglu dout", dout, n); f(dev, "geglu g", g, n);
        f(dev, "geglu u", u, n);
        if ((dg != null || du != null) && (dout == null || g == null || (dg != null && u == null))) {
            throw new IllegalArgumentException("geglu backward: dout and g (and u for dg) are required");
        }
        size("geglu backward n", n);
    }

    public static void tanh(Device dev, Tensor y, Tensor x, long n) {
        f(dev, "tanh y", y, n); f(dev, "tanh x", x, n);
        size("tanh n", n);
    }

    public static void tanhBackward(Device dev, Tensor dx, Tensor dy, Tensor y, long n) {
        f(dev, "tanh dx", dx, n); f(dev, "tanh dy", dy, n); f(dev, "tanh y", y, n);
        size("tanh backward n", n);
    }

    /** Returns the cap, checked positive and finite. */
    public static float softcap(Device dev, Tensor y, Tensor x, float cap, long n) {
        f(dev, "softcap y", y, n); f(dev, "softcap x", x, n);
        if (y == null || x == null) throw new IllegalArgumentException("softcap: y and x are required");
        return SoftCap.requirePositive("softcap", cap);
    }

    /** A null dx is a backward the caller skips, so dy and y are required only with one. */
    public static void softcapBackward(Device dev, Tensor dx, Tensor dy, Tensor y, float cap, long n) {
        f(dev, "softcap dx", dx, n); f(dev, "softcap dy", dy, n); f(dev, "softcap y", y, n);
        SoftCap.requirePositive("softcap backward", cap);
        if (dx != null && (dy == null || y == null)) {
            throw new IllegalArgumentException("softcap backward: dy and y are required");
        }
    }

    public static void add(Device dev, Tensor y, Tensor a, Tensor b, long n) {
        f(dev, "add y", y, n); f(dev, "add a", a, n); f(dev, "add b", b, n);
        size("add n", n);
    }

    public static void axpy(Device dev, Tensor y, Tensor x, long n) {
        f(dev, "axpy y", y, n); f(dev, "axpy x", x, n);
        size("axpy n", n);
    }

    // ---- losses ----

    public static void crossEntropy(Device dev, Tensor losses, Tensor logits, Tensor targets, int M, int V) {
        f(dev, "cross-entropy losses", losses, M); f(dev, "cross-entropy logits", logits, (long) M * V);
        i(dev, "cross-entropy targets", targets, M);
        sizes("cross-entropy", "M,V", M, V);
    }

    /** ws: blockRows*V floats on every backend. */
    public static void lmHeadCrossEntropy(Device dev, Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets, int M,
                                          int d, int V, float softcap, Tensor ws, int blockRows) {
        lmHeadTensors(dev, dh, dw, h, w, targets, M, d, V, ws, blockRows);
        SoftCap.requireOptional("lm head softcap", softcap);
        sizes("lm head", "M,d,V,blockRows", M, d, V, blockRows);
    }

    public static void lmHeadSequenceLogProbs(Device dev, double[] logp, int[] counts, Tensor dh, Tensor dw, Tensor h,
                                              Tensor w, Tensor targets, float[] seqWeight, int B, int T, int d, int V,
                                              float softcap, Tensor ws, int blockRows) {
        SoftCap.requireOptional("sequence log-probs softcap", softcap);
        lmHeadTensors(dev, dh, dw, h, w, targets, (long) B * T, d, V, ws, blockRows);
        if (logp.length < B || counts.length < B || (seqWeight != null && seqWeight.length < B)) {
            throw new IllegalArgumentException("sequence log-probs: arrays shorter than the batch of " + B);
        }
        if ((dh != null || dw != null) && seqWeight == null) {
            throw new IllegalArgumentException("sequence log-probs: a gradient needs the per-sequence weights");
        }
        sizes("sequence log-probs", "B,T,d,V", B, T, d, V);
        size("sequence log-probs blockRows", blockRows);
    }

    private static void lmHeadTensors(Device dev, Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets, long M,
                                      int d, int V, Tensor ws, int blockRows) {
        f(dev, "lm head dh", dh, M * d); f(dev, "lm head dw", dw, (long) V * d); f(dev, "lm head h", h, M * d);
        f(dev, "lm head w", w, (long) V * d); i(dev, "lm head targets", targets, M);
        f(dev, "lm head ws", ws, (long) blockRows * V);
    }

    // ---- optimiser ----

    public static void adamw(Device dev, Tensor p, Tensor g, Tensor m, Tensor v, long n) {
        f(dev, "adamw p", p, n); f(dev, "adamw g", g, n); f(dev, "adamw m", m, n); f(dev, "adamw v", v, n);
        size("adamw n", n);
    }

    public static void sumOfSquares(Device dev, Tensor x, long n) {
        f(dev, "sum of squares x", x, n);
        size("sum of squares n", n);
    }

    public static void scale(Device dev, Tensor x, long n) {
        f(dev, "scale x", x, n);
        size("scale n", n);
    }

    // ---- sampling ----

    /** ws: 2*V floats on every backend. */
    public static void sample(Device dev, Tensor logits, int V, Tensor recent, int nRecent, Tensor ws) {
        f(dev, "sample logits", logits, V); i(dev, "sample recent", recent, nRecent); f(dev, "sample ws", ws, 2L * V);
        sizes("sample", "V,nRecent", V, nRecent);
    }

    public static void argmax(Device dev, Tensor x, int n) {
        f(dev, "argmax x", x, n);
        size("argmax n", n);
    }

    // ---- the primitives ----

    /** A float tensor the op will touch must be F32 memory of dev holding at least n elements (null: not used). */
    private static void f(Device dev, String what, Tensor t, long n) {
        typed(dev, DType.F32, what, t, n);
    }

    private static void i(Device dev, String what, Tensor t, long n) {
        typed(dev, DType.I32, what, t, n);
    }

    private static void typed(Device dev, DType dtype, String what, Tensor t, long n) {
        if (t == null) return;
        if (t.device() != dev || t.dtype() != dtype) {
            throw new IllegalArgumentException(what + ": expected a " + dev + " " + dtype + " tensor, got " + t);
        }
        if (t.numel() < n) throw new IllegalArgumentException(what + ": holds " + t.numel() + " elements, the op needs " + n);
    }

    // A negative size would make the element counts above negative, which every tensor passes.
    private static void size(String what, long n) {
        if (n < 0) throw new IllegalArgumentException(what + ": must be >= 0, got " + n);
    }

    /** names: the sizes' names, comma-separated in argument order; read only to word the error. */
    private static void sizes(String op, String names, int a, int b) {
        if ((a | b) < 0) throw negative(op, names, a, b);
    }

    private static void sizes(String op, String names, int a, int b, int c) {
        if ((a | b | c) < 0) throw negative(op, names, a, b, c);
    }

    private static void sizes(String op, String names, int a, int b, int c, int d) {
        if ((a | b | c | d) < 0) throw negative(op, names, a, b, c, d);
    }

    private static IllegalArgumentException negative(String op, String names, int... dims) {
        String[] name = names.split(",");
        int k = 0;
        while (dims[k] >= 0) k++;
        return new IllegalArgumentException(op + " " + name[k] + ": must be >= 0, got " + dims[k]);
    }
}
