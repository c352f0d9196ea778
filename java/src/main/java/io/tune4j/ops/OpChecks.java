package io.tune4j.ops;

import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;

/**
 * The argument checks of every {@link Ops} method, shared by the backends so that an op's dimensions are
 * derived from its tensors' shapes in one place and a tensor that disagrees is refused in Java on every
 * device: native code trusts the sizes it is given, and on a GPU an undersized buffer is a silent
 * out-of-bounds write rather than a crash. Operands must hold exactly what the derived dimensions imply
 * (a caller with a bigger buffer passes a view of the rows it uses); workspaces at least their size.
 *
 * <p>Each method takes the backend's device and the op's arguments, and throws IllegalArgumentException
 * naming the op and the argument. A null tensor is an argument the op skips (an optional bias or gradient);
 * where the op cannot skip it, the method says so. Workspace sizes differ per backend, so the backend passes
 * the size its own {@code *WorkspaceFloats} reports.
 */
public final class OpChecks {
    private OpChecks() {}

    // ---- linear ----

    /** y [M,N] = x [M,K] w [N,K]^T (+ b [N]); returns M. */
    public static int linear(Device dev, Tensor y, Tensor x, Tensor w, Tensor b) {
        matrix(dev, "linear w", w);
        long N = w.dim(0), K = w.dim(1);
        int M = rows("linear x", x, K, w);
        f(dev, "linear x", x, M, K); f(dev, "linear y", y, M, N); f(dev, "linear b", b, N);
        required("linear", "y", y);
        return M;
    }

    /** Dimensions as in {@link #linear}, M from dy; returns M. */
    public static int linearBackward(Device dev, Tensor dx, Tensor dw, Tensor db, Tensor dy, Tensor x, Tensor w) {
        matrix(dev, "linear w", w);
        long N = w.dim(0), K = w.dim(1);
        int M = rows("linear dy", dy, N, w);
        f(dev, "linear dx", dx, M, K); f(dev, "linear dw", dw, N, K); f(dev, "linear db", db, N);
        f(dev, "linear dy", dy, M, N); f(dev, "linear x", x, M, K);
        return M;
    }

    public static void packWeights(Device dev, Tensor w) {
        matrix(dev, "pack w", w);
    }

    /** packedElems: what the backend's packing produces for [N,K]; returns M (from x). */
    public static int linearPacked(Device dev, Tensor y, Tensor x, Tensor packed, Tensor b, int K, int N,
                                   long packedElems) {
        sizes("linear packed", "K,N", K, N);
        int M = rows("linear x", x, K, null);
        f(dev, "linear y", y, M, N); f(dev, "linear x", x, M, K); f(dev, "linear b", b, N);
        required("linear packed", "y", y);
        if (packed == null || packed.device() != dev || packed.dtype() != DType.BF16 || packed.numel() < packedElems) {
            throw new IllegalArgumentException("linear packed w: expected packWeightsBf16's result for " + N + "x" + K
                    + ", got " + packed);
        }
        return M;
    }

    // ---- LoRA, DoRA ----

    /** w [N,K], A [r,K], B [N,r], x [M,K], y [M,N], t [M,r]; returns M. The workspace: {@link #workspace}. */
    public static int lora(Device dev, Tensor y, Tensor t, Tensor x, Tensor w, Tensor bias, Tensor a, Tensor b) {
        matrix(dev, "lora w", w); matrix(dev, "lora A", a);
        long N = w.dim(0), K = w.dim(1), r = a.dim(0);
        int M = rows("lora x", x, K, w);
        f(dev, "lora y", y, M, N); f(dev, "lora t", t, M, r); f(dev, "lora x", x, M, K);
        f(dev, "lora bias", bias, N); f(dev, "lora A", a, r, K); f(dev, "lora B", b, N, r);
        return M;
    }

    /** Dimensions as in {@link #lora}, M from dy; returns M. */
    public static int loraBackward(Device dev, Tensor dx, Tensor dw, Tensor dbias, Tensor da, Tensor db, Tensor dy,
                                   Tensor x, Tensor t, Tensor w, Tensor a, Tensor b) {
        matrix(dev, "lora w", w); matrix(dev, "lora A", a);
        long N = w.dim(0), K = w.dim(1), r = a.dim(0);
        int M = rows("lora dy", dy, N, w);
        f(dev, "lora dx", dx, M, K); f(dev, "lora dW", dw, N, K); f(dev, "lora dbias", dbias, N);
        f(dev, "lora dA", da, r, K); f(dev, "lora dB", db, N, r); f(dev, "lora dy", dy, M, N);
        f(dev, "lora x", x, M, K); f(dev, "lora t", t, M, r); f(dev, "lora A", a, r, K); f(dev, "lora B", b, N, r);
        return M;
    }

    /** A workspace sized once the dimensions are known: F32 memory of dev of at least wsFloats (null: none). */
    public static void workspace(Device dev, String what, Tensor ws, long wsFloats) {
        atLeast(dev, what, ws, wsFloats);
    }

    /** w [N,K]; r = A's rows (0 without A and B). */
    public static void doraNorm(Device dev, Tensor norm, Tensor g, Tensor w, Tensor a, Tensor b, Tensor m) {
        if (norm == null || w == null || (g != null && m == null) || ((a == null) != (b == null))) {
            throw new IllegalArgumentException("dora norm: norm, w (and m for g, A with B) are required");
        }
        matrix(dev, "dora w", w);
        long N = w.dim(0), K = w.dim(1), r = a == null ? 0 : matrix(dev, "dora A", a).dim(0);
        f(dev, "dora norm", norm, N); f(dev, "dora g", g, N);
        f(dev, "dora A", a, r, K); f(dev, "dora B", b, N, r); f(dev, "dora magnitude", m, N);
    }

    public static void doraNormWorkspace(Device dev, Tensor ws, long wsFloats) {
        atLeast(dev, "dora ws", ws, wsFloats);
        if (ws == null && wsFloats > 0) throw new IllegalArgumentException("dora ws: a workspace is required");
    }

    /** N = g's length, u [M,N]; returns M. */
    public static int doraScale(Device dev, Tensor y, Tensor u, Tensor g, Tensor bias) {
        if (y == null || u == null || g == null) throw new IllegalArgumentException("dora scale: y, u and g are required");
        long N = g.numel();
        int M = rows("dora u", u, N, g);
        f(dev, "dora y", y, M, N); f(dev, "dora u", u, M, N); f(dev, "dora g", g, N); f(dev, "dora bias", bias, N);
        return M;
    }

    /** N = g's length, dy [M,N]; returns M. */
    public static int doraScaleBackward(Device dev, Tensor du, Tensor dm, Tensor dbias, Tensor dy, Tensor u, Tensor g,
                                        Tensor norm) {
        if (dy == null || g == null || (dm != null && (u == null || norm == null))) {
            throw new IllegalArgumentException("dora scale backward: dy and g (and u and norm for dm) are required");
        }
        long N = g.numel();
        int M = rows("dora dy", dy, N, g);
        f(dev, "dora du", du, M, N); f(dev, "dora dm", dm, N); f(dev, "dora dbias", dbias, N);
        f(dev, "dora dy", dy, M, N); f(dev, "dora u", u, M, N); f(dev, "dora g", g, N); f(dev, "dora norm", norm, N);
        return M;
    }

    /**
     * The tensors of {@link Ops#loraMultiForward}: returns M, the row table's length; K and N are the row widths
     * of x and y (0 without rows). The slot tables ({@link #loraMulti}) and the workspace
     * ({@link #loraMultiWorkspace}) are checked after, once K, N and the ranks are known.
     */
    public static int loraMultiRows(Device dev, Tensor y, Tensor x, Tensor rowSlot) {
        if (rowSlot == null) throw new IllegalArgumentException("lora-multi: the row slot table is required");
        long M = rowSlot.numel();
        LoraSlots.requireRows("lora-multi", y, x, rowSlot, (int) M);
        i(dev, "lora-multi row slots", rowSlot, M);
        if (M > 0) {
            f(dev, "lora-multi y", y, y.numel()); f(dev, "lora-multi x", x, x.numel());
            if (y.numel() % M != 0 || x.numel() % M != 0) {
                throw new IllegalArgumentException("lora-multi: y " + y + " and x " + x + " must hold whole rows for the "
                        + M + " row slots " + rowSlot);
            }
        }
        return (int) M;
    }

    /** The slot tables, with K and N as derived by {@link #loraMultiRows}; returns the slot count. */
    public static int loraMulti(Device dev, Tensor[] a, Tensor[] b, int[] ranks, float[] scales, int K, int N) {
        int n = LoraSlots.check("lora-multi", a, b, ranks, scales, K, N);
        for (int s = 0; s < n; s++) {
            if (ranks[s] == 0) continue;
            f(dev, "lora-multi A[" + s + "]", a[s], ranks[s], K);
            f(dev, "lora-multi B[" + s + "]", b[s], N, ranks[s]);
        }
        return n;
    }

    public static void loraMultiWorkspace(Device dev, Tensor ws, int M, long wsFloats) {
        atLeast(dev, "lora-multi ws", ws, wsFloats);
        if (ws == null && M > 0) throw new IllegalArgumentException("lora-multi ws: a workspace is required");
    }

    // ---- bottleneck adapter ----

    /** down [m,d], up [d,m], x and y [M,d], h and a [M,m]; returns M. */
    public static int adapter(Device dev, Tensor y, Tensor h, Tensor act, Tensor x, Tensor down, Tensor downBias,
                              Tensor up, Tensor upBias) {
        matrix(dev, "adapter down", down);
        long m = down.dim(0), d = down.dim(1);
        int M = rows("adapter x", x, d, down);
        f(dev, "adapter y", y, M, d); f(dev, "adapter h", h, M, m); f(dev, "adapter a", act, M, m);
        f(dev, "adapter down bias", downBias, m); f(dev, "adapter up", up, d, m); f(dev, "adapter up bias", upBias, d);
        return M;
    }

    /** Dimensions as in {@link #adapter}, M from dy; ws: M*m floats on every backend. Returns M. */
    public static int adapterBackward(Device dev, Tensor dx, Tensor dDown, Tensor dDownBias, Tensor dUp,
                                      Tensor dUpBias, Tensor dy, Tensor x, Tensor h, Tensor act, Tensor down,
                                      Tensor up, Tensor ws) {
        matrix(dev, "adapter down", down);
        long m = down.dim(0), d = down.dim(1);
        int M = rows("adapter dy", dy, d, down);
        f(dev, "adapter dx", dx, M, d); f(dev, "adapter dDown", dDown, m, d);
        f(dev, "adapter dDownBias", dDownBias, m); f(dev, "adapter dUp", dUp, d, m);
        f(dev, "adapter dUpBias", dUpBias, d); f(dev, "adapter x", x, M, d);
        f(dev, "adapter h", h, M, m); f(dev, "adapter a", act, M, m); f(dev, "adapter up", up, d, m);
        atLeast(dev, "adapter ws", ws, (long) M * m);
        return M;
    }

    // ---- embedding, norms, RoPE ----

    /** table [V,d], ids [M], out [M,d]. */
    public static void embedding(Device dev, Tensor out, Tensor ids, Tensor table) {
        matrix(dev, "embedding table", table);
        long M = required("embedding", "ids", ids).numel();
        i(dev, "embedding ids", ids, M); f(dev, "embedding out", out, M, table.dim(1));
    }

    /** dTable [V,d], ids [M], dOut [M,d]. */
    public static void embeddingBackward(Device dev, Tensor dTable, Tensor dOut, Tensor ids) {
        matrix(dev, "embedding dTable", dTable);
        long M = required("embedding backward", "ids", ids).numel();
        i(dev, "embedding ids", ids, M); f(dev, "embedding dOut", dOut, M, dTable.dim(1));
    }

    /** d = w's length, x [M,d]; returns M. */
    public static int rmsnorm(Device dev, Tensor y, Tensor rstd, Tensor x, Tensor w, float weightOffset) {
        long d = required("rmsnorm", "w", w).numel();
        int M = rows("rmsnorm x", x, d, w);
        f(dev, "rmsnorm y", y, M, d); f(dev, "rmsnorm rstd", rstd, M); f(dev, "rmsnorm x", x, M, d);
        f(dev, "rmsnorm w", w, d);
        SoftCap.requireFiniteOffset("rmsnorm", weightOffset);
        return M;
    }

    /** d = w's length, dy [M,d]; returns M. */
    public static int rmsnormBackward(Device dev, Tensor dx, Tensor dw, Tensor dy, Tensor x, Tensor w, Tensor rstd,
                                      float weightOffset) {
        long d = required("rmsnorm backward", "w", w).numel();
        int M = rows("rmsnorm dy", dy, d, w);
        f(dev, "rmsnorm dx", dx, M, d); f(dev, "rmsnorm dw", dw, d); f(dev, "rmsnorm dy", dy, M, d);
        f(dev, "rmsnorm x", x, M, d); f(dev, "rmsnorm w", w, d); f(dev, "rmsnorm rstd", rstd, M);
        SoftCap.requireFiniteOffset("rmsnorm backward", weightOffset);
        return M;
    }

    /** The fused h = x + r, y = rmsnorm(h) w (a CUDA op; h may alias x or r); returns M. */
    public static int addRmsnorm(Device dev, Tensor h, Tensor y, Tensor rstd, Tensor x, Tensor r, Tensor w) {
        long d = required("add+rmsnorm", "w", w).numel();
        int M = rows("add+rmsnorm x", x, d, w);
        f(dev, "add+rmsnorm h", h, M, d); f(dev, "add+rmsnorm y", y, M, d);
        f(dev, "add+rmsnorm rstd", rstd, M); f(dev, "add+rmsnorm x", x, M, d);
        f(dev, "add+rmsnorm r", r, M, d); f(dev, "add+rmsnorm w", w, d);
        return M;
    }

    public static void ropeTable(Device dev, Tensor cos, Tensor sin, int maxPos, int hd) {
        sizes("rope table", "maxPos,hd", maxPos, hd);
        f(dev, "rope cos", cos, maxPos, hd / 2); f(dev, "rope sin", sin, maxPos, hd / 2);
    }

    /**
     * cos and sin [maxPos, hd/2], pos [M], x [M, nh, hd]: hd = 2 * the tables' width, nh from x's size.
     * Returns nh; the backend reads M, hd and maxPos off pos and cos.
     */
    public static int rope(Device dev, Tensor x, Tensor pos, Tensor cos, Tensor sin) {
        return rope(dev, "rope x", x, pos, cos, sin);
    }

    public static int ropeBackward(Device dev, Tensor dx, Tensor pos, Tensor cos, Tensor sin) {
        return rope(dev, "rope dx", dx, pos, cos, sin);
    }

    private static int rope(Device dev, String what, Tensor x, Tensor pos, Tensor cos, Tensor sin) {
        matrix(dev, "rope cos", cos);
        long maxPos = cos.dim(0), hd = 2 * cos.dim(1);
        long M = required("rope", "positions", pos).numel();
        i(dev, "rope positions", pos, M); f(dev, "rope sin", sin, maxPos, hd / 2);
        int nh = rows(what, x, M * hd, cos);
        f(dev, what, x, M * nh, hd);
        return nh;
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
        // the shape is the descriptor here, so a bigger buffer passes as before (decoding's lse, caches)
        long rows = (long) s.B() * s.Tq();
        long kv = (long) s.B() * s.Tk() * s.nkv() * s.hd();
        long prefix = (long) s.P() * s.nkv() * s.hd();
        atLeast(dev, "attention out", out, rows * s.nh() * s.hd());
        atLeast(dev, "attention lse", lse, rows * s.nh());
        atLeast(dev, "attention q", q, rows * s.nh() * s.hd());
        atLeast(dev, "attention k", k, kv);
        atLeast(dev, "attention v", v, kv);
        atLeast(dev, "attention prefix keys", pk, prefix);
        atLeast(dev, "attention prefix values", pv, prefix);
        iAtLeast(dev, "attention q_start", qStart, s.B());
        iAtLeast(dev, "attention kv_start", kvStart, rows);
        atLeast(dev, "attention ws", ws, wsFloats);
    }

    private static void prefixGiven(AttentionShape s, Tensor pk, Tensor pv) {
        if (s.P() > 0 && (pk == null || pv == null)) {
            throw new IllegalArgumentException("attention: P = " + s.P() + " needs prefix keys and values");
        }
    }

    /**
     * cache [B,Tmax,..] takes src [B,Tq,..] rows of width = cache's size / (B*Tmax); B = qStart's length.
     * Returns Tq; the backend reads B and Tmax off qStart and cache.
     */
    public static int kvWrite(Device dev, Tensor cache, Tensor src, Tensor qStart) {
        if (cache == null || cache.rank() < 2) {
            throw new IllegalArgumentException("kv cache: expected [B,Tmax,..], got " + cache);
        }
        required("kv", "source", src);
        required("kv", "q_start", qStart);
        long B = qStart.numel(), Tmax = cache.dim(1);
        if (cache.dim(0) != B) {
            throw new IllegalArgumentException("kv cache: " + cache + " holds " + cache.dim(0) + " sequences, q_start "
                    + qStart + " " + B);
        }
        i(dev, "kv q_start", qStart, B);
        long width = B * Tmax == 0 ? 0 : cache.numel() / (B * Tmax);
        int Tq = rows("kv source", src, B * width, cache);
        f(dev, "kv source", src, B * Tq, width); f(dev, "kv cache", cache, B * Tmax, width);
        return Tq;
    }

    /** Device and dtype here; the block, shapes and overlap in {@link ColumnCopy}. */
    public static void copyColumns(Device dev, Tensor dst, int dstCol, Tensor src, int srcCol, int rows, int cols) {
        atLeast(dev, "copyColumns dst", dst, 0); atLeast(dev, "copyColumns src", src, 0);
        ColumnCopy.check(dst, dstCol, src, srcCol, rows, cols);
    }

    // ---- elementwise: n = the first operand's size, which every other must share ----

    public static long swiglu(Device dev, Tensor out, Tensor g, Tensor u) {
        long n = required("swiglu", "out", out).numel();
        f(dev, "swiglu out", out, n); f(dev, "swiglu g", g, n); f(dev, "swiglu u", u, n);
        return n;
    }

    public static long swigluBackward(Device dev, Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u) {
        long n = required("swiglu backward", "dout", dout).numel();
        f(dev, "swiglu dg", dg, n); f(dev, "swiglu du", du, n); f(dev, "swiglu dout", dout, n); f(dev, "swiglu g", g, n);
        f(dev, "swiglu u", u, n);
        return n;
    }

    public static long geglu(Device dev, Tensor out, Tensor g, Tensor u) {
        if (out == null || g == null || u == null) throw new IllegalArgumentException("geglu: out, g and u are required");
        long n = out.numel();
        f(dev, "geglu out", out, n); f(dev, "geglu g", g, n); f(dev, "geglu u", u, n);
        return n;
    }

    /** n = dout's size (0 when the backward is skipped). */
    public static long gegluBackward(Device dev, Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u) {
        if ((dg != null || du != null) && (dout == null || g == null || (dg != null && u == null))) {
            throw new IllegalArgumentException("geglu backward: dout and g (and u for dg) are required");
        }
        long n = dout == null ? 0 : dout.numel();
        f(dev, "geglu dg", dg, n); f(dev, "geglu du", du, n); f(dev, "geglu dout", dout, n); f(dev, "geglu g", g, n);
        f(dev, "geglu u", u, n);
        return n;
    }

    public static long tanh(Device dev, Tensor y, Tensor x) {
        long n = required("tanh", "y", y).numel();
        f(dev, "tanh y", y, n); f(dev, "tanh x", x, n);
        return n;
    }

    /** n = dy's size (0 without dx: the backward is skipped). */
    public static long tanhBackward(Device dev, Tensor dx, Tensor dy, Tensor y) {
        if (dx == null) return 0;
        long n = required("tanh backward", "dy", dy).numel();
        f(dev, "tanh dx", dx, n); f(dev, "tanh dy", dy, n); f(dev, "tanh y", y, n);
        return n;
    }

    /** Returns the cap, checked positive and finite; n is y's size. */
    public static float softcap(Device dev, Tensor y, Tensor x, float cap) {
        if (y == null || x == null) throw new IllegalArgumentException("softcap: y and x are required");
        f(dev, "softcap y", y, y.numel()); f(dev, "softcap x", x, y.numel());
        return SoftCap.requirePositive("softcap", cap);
    }

    /** A null dx is a backward the caller skips, so dy and y are required only with one. Returns n (dx's size). */
    public static long softcapBackward(Device dev, Tensor dx, Tensor dy, Tensor y, float cap) {
        SoftCap.requirePositive("softcap backward", cap);
        if (dx == null) return 0;
        if (dy == null || y == null) throw new IllegalArgumentException("softcap backward: dy and y are required");
        long n = dx.numel();
        f(dev, "softcap dx", dx, n); f(dev, "softcap dy", dy, n); f(dev, "softcap y", y, n);
        return n;
    }

    public static long add(Device dev, Tensor y, Tensor a, Tensor b) {
        long n = required("add", "y", y).numel();
        f(dev, "add y", y, n); f(dev, "add a", a, n); f(dev, "add b", b, n);
        return n;
    }

    public static long axpy(Device dev, Tensor y, Tensor x) {
        long n = required("axpy", "y", y).numel();
        f(dev, "axpy y", y, n); f(dev, "axpy x", x, n);
        return n;
    }

    // ---- losses ----

    /** targets [M], logits [M,V], losses [M]; returns M (V = logits' size / M). */
    public static int crossEntropy(Device dev, Tensor losses, Tensor logits, Tensor targets) {
        long M = required("cross-entropy", "targets", targets).numel();
        i(dev, "cross-entropy targets", targets, M);
        int V = rows("cross-entropy logits", logits, M, targets);
        f(dev, "cross-entropy losses", losses, M); f(dev, "cross-entropy logits", logits, M, V);
        return V;
    }

    /** w [V,d], targets [M], h [M,d]; ws: blockRows*V floats on every backend. Returns M. */
    public static int lmHeadCrossEntropy(Device dev, Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets,
                                         float softcap, Tensor ws, int blockRows) {
        size("lm head blockRows", blockRows);
        SoftCap.requireOptional("lm head softcap", softcap);
        return lmHeadTensors(dev, dh, dw, h, w, targets, ws, blockRows);
    }

    /** As {@link #lmHeadCrossEntropy} with targets [B,T]; returns T. */
    public static int lmHeadSequenceLogProbs(Device dev, double[] logp, int[] counts, Tensor dh, Tensor dw, Tensor h,
                                             Tensor w, Tensor targets, float[] seqWeight, int B, float softcap,
                                             Tensor ws, int blockRows) {
        SoftCap.requireOptional("sequence log-probs softcap", softcap);
        size("sequence log-probs B", B);
        size("sequence log-probs blockRows", blockRows);
        int M = lmHeadTensors(dev, dh, dw, h, w, targets, ws, blockRows);
        if (B == 0 ? M != 0 : M % B != 0) {
            throw new IllegalArgumentException("sequence log-probs targets: " + targets + " is not a batch of " + B
                    + " sequences");
        }
        if (logp.length < B || counts.length < B || (seqWeight != null && seqWeight.length < B)) {
            throw new IllegalArgumentException("sequence log-probs: arrays shorter than the batch of " + B);
        }
        if ((dh != null || dw != null) && seqWeight == null) {
            throw new IllegalArgumentException("sequence log-probs: a gradient needs the per-sequence weights");
        }
        return B == 0 ? 0 : M / B;
    }

    private static int lmHeadTensors(Device dev, Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets, Tensor ws,
                                     int blockRows) {
        matrix(dev, "lm head w", w);
        long V = w.dim(0), d = w.dim(1);
        long M = required("lm head", "targets", targets).numel();
        if (M > Integer.MAX_VALUE) throw new IllegalArgumentException("lm head targets: too many rows in " + targets);
        i(dev, "lm head targets", targets, M);
        f(dev, "lm head dh", dh, M, d); f(dev, "lm head dw", dw, V, d); f(dev, "lm head h", h, M, d);
        atLeast(dev, "lm head ws", ws, (long) blockRows * V);
        return (int) M;
    }

    // ---- optimiser: n = p's size ----

    public static long adamw(Device dev, Tensor p, Tensor g, Tensor m, Tensor v) {
        long n = required("adamw", "p", p).numel();
        f(dev, "adamw p", p, n); f(dev, "adamw g", g, n); f(dev, "adamw m", m, n); f(dev, "adamw v", v, n);
        return n;
    }

    public static long sumOfSquares(Device dev, Tensor x) {
        long n = required("sum of squares", "x", x).numel();
        f(dev, "sum of squares x", x, n);
        return n;
    }

    public static long scale(Device dev, Tensor x) {
        long n = required("scale", "x", x).numel();
        f(dev, "scale x", x, n);
        return n;
    }

    // ---- sampling ----

    /** V = logits' size; recent holds at least nRecent ids; ws: 2*V floats on every backend. Returns V. */
    public static int sample(Device dev, Tensor logits, Tensor recent, int nRecent, Tensor ws) {
        int V = rows("sample logits", logits, 1, null);
        size("sample nRecent", nRecent);
        typed(dev, DType.I32, "sample recent", recent, nRecent, false);
        atLeast(dev, "sample ws", ws, 2L * V);
        return V;
    }

    public static int argmax(Device dev, Tensor x) {
        int n = rows("argmax x", x, 1, null);
        f(dev, "argmax x", x, n);
        return n;
    }

    // ---- the primitives ----

    /** A float tensor the op will touch must be F32 memory of dev of exactly n elements (null: not used). */
    private static void f(Device dev, String what, Tensor t, long n) {
        typed(dev, DType.F32, what, t, n, true);
    }

    /** As above for a [rows, cols] operand; the expected shape is worded only on failure. */
    private static void f(Device dev, String what, Tensor t, long rows, long cols) {
        if (t != null && t.numel() != rows * cols && t.device() == dev && t.dtype() == DType.F32) {
            throw new IllegalArgumentException(what + ": expected [" + rows + "," + cols + "] (" + rows * cols
                    + " elements), got " + t);
        }
        f(dev, what, t, rows * cols);
    }

    private static void i(Device dev, String what, Tensor t, long n) {
        typed(dev, DType.I32, what, t, n, true);
    }

    private static void iAtLeast(Device dev, String what, Tensor t, long n) {
        typed(dev, DType.I32, what, t, n, false);
    }

    /** Scratch: F32 memory of dev of at least n elements. */
    private static void atLeast(Device dev, String what, Tensor t, long n) {
        typed(dev, DType.F32, what, t, n, false);
    }

    private static void typed(Device dev, DType dtype, String what, Tensor t, long n, boolean exact) {
        if (t == null) return;
        if (t.device() != dev || t.dtype() != dtype) {
            throw new IllegalArgumentException(what + ": expected a " + dev + " " + dtype + " tensor, got " + t);
        }
        if (exact ? t.numel() != n : t.numel() < n) {
            throw new IllegalArgumentException(what + ": " + t + " holds " + t.numel() + " elements, the op needs "
                    + (exact ? "exactly " : "at least ") + n);
        }
    }

    /** A [rows, cols] operand whose shape defines dimensions: required, of dev, F32 and 2-D. */
    private static Tensor matrix(Device dev, String what, Tensor t) {
        if (t == null) throw new IllegalArgumentException(what + ": required, got null");
        if (t.rank() != 2) throw new IllegalArgumentException(what + ": expected a 2-D matrix, got " + t);
        f(dev, what, t, t.numel());
        if (t.dim(0) > Integer.MAX_VALUE || t.dim(1) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + ": dimensions beyond int in " + t);
        }
        return t;
    }

    private static Tensor required(String op, String what, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + " " + what + ": required, got null");
        return t;
    }

    /**
     * The rows of t as a [rows, width] operand: its size / width, refused unless whole (width 0: t must be
     * empty, and has no rows). from: the tensor width comes from, named in the error (null: none).
     */
    private static int rows(String what, Tensor t, long width, Tensor from) {
        if (t == null) throw new IllegalArgumentException(what + ": required, got null");
        long n = t.numel();
        long rows = width == 0 ? 0 : n / width;
        if (width == 0 ? n != 0 : n % width != 0 || rows > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + ": " + t + " is not whole rows of width " + width
                    + (from == null ? "" : " (from " + from + ")"));
        }
        return (int) rows;
    }

    // A negative size would make the element counts above negative, which every tensor passes.
    private static void size(String what, long n) {
        if (n < 0) throw new IllegalArgumentException(what + ": must be >= 0, got " + n);
    }

    /** names: the sizes' names, comma-separated in argument order; read only to word the error. */
    private static void sizes(String op, String names, int a, int b) {
        if ((a | b) < 0) throw negative(op, names, a, b);
    }

    private static IllegalArgumentException negative(String op, String names, int... dims) {
        String[] name = names.split(",");
        int k = 0;
        while (dims[k] >= 0) k++;
        return new IllegalArgumentException(op + " " + name[k] + ": must be >= 0, got " + dims[k]);
    }
}
