package io.tune4j.peft.dora;

import io.tune4j.model.DenseProjection;
import io.tune4j.model.Parameter;
import io.tune4j.model.Projection;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A projection under DoRA: y = g o (x W^T + scale·(drop(x) A^T) B^T) + bias, with g = m / ||W + scale·B·A||
 * per output row and the norm treated as a constant in backward (PEFT's detach). The low-rank product
 * is the fused LoRA op; the norm and the row scale are DoRA's ops around it.
 *
 * <p>PEFT, training with dropout, also takes the base term of the (g - 1) correction from the dropped
 * input; here the base term always sees x. The two agree without dropout and in evaluation, and in
 * expectation while training.
 *
 * <p>The norm is recomputed on every training forward (the weights change each step) and by decoding
 * unless A, B and m are frozen, when the last one is kept: the norm costs as much as a forward over
 * r rows, too much to pay per decoded token.
 */
public final class DoraProjection implements Projection {
    private final Ops ops;
    private final DenseProjection base;
    private final Parameter a;         // [r, in]
    private final Parameter b;         // [out, r]
    private final Parameter magnitude; // [out]
    private final int r;
    private final float scale;
    private final float dropout;
    private final LongSupplier seeds;
    private final Tensor norm, g, normWs;
    private boolean normCurrent;
    private Tensor heldA, heldB; // see holdNorm
    private boolean training = true;
    private Tensor t, u, du, ws;
    private int rowsCapacity;
    private long lastSeed;
    private float lastDropout;
    private boolean closed;

    /** A, B and the magnitude are owned by this projection from now on (closed with it). */
    DoraProjection(Ops ops, DenseProjection base, Parameter a, Parameter b, Parameter magnitude, float scale, float dropout,
                   LongSupplier seeds) {
        this.ops = ops;
        this.base = base;
        this.a = a;
        this.b = b;
        this.magnitude = magnitude;
        this.r = Math.toIntExact(a.value().dim(0));
        this.scale = scale;
        this.dropout = dropout;
        this.seeds = seeds;
        int in = base.inFeatures(), out = base.outFeatures();
        if (a.value().dim(1) != in || b.value().dim(0) != out || b.value().dim(1) != r || magnitude.value().numel() != out) {
            throw new IllegalArgumentException("DoRA shapes A" + Arrays.toString(a.value().shape()) + " B"
                    + Arrays.toString(b.value().shape()) + " m" + Arrays.toString(magnitude.value().shape())
                    + " do not fit a projection " + in + " -> " + out);
        }
        norm = ops.allocate(DType.F32, out);
        g = ops.allocate(DType.F32, out);
        normWs = ops.allocate(DType.F32, Math.max(1, ops.doraNormWorkspaceFloats(in, out, r)));
    }

    DenseProjection base() {
        return base;
    }

    Parameter loraA() {
        return a;
    }

    Parameter loraB() {
        return b;
    }

    Parameter magnitude() {
        return magnitude;
    }

    /** The weight norms ||W_j|| per output row: DoRA's starting magnitude, where the model is the base model. */
    static Tensor rowNorms(Ops ops, DenseProjection base) {
        int in = base.inFeatures(), out = base.outFeatures();
        Tensor n = ops.allocate(DType.F32, out);
        try (Tensor ws = ops.allocate(DType.F32, Math.max(1, ops.doraNormWorkspaceFloats(in, out, 0)))) {
            ops.doraNorm(n, null, base.weight().value(), null, null, null, 0f, ws);
        }
        return n;
    }

    void setTraining(boolean training) {
        this.training = training;
        normCurrent = false;
    }

    /** The weights changed outside training (a load): the next forward recomputes the norm. */
    void weightsChanged() {
        normCurrent = false;
    }

    @Override
    public int inFeatures() {
        return base.inFeatures();
    }

    @Override
    public int outFeatures() {
        return base.outFeatures();
    }

    @Override
    public void forward(Tensor y, Tensor x, int M) {
        refreshNorm(true);
        run(y, x, M, training ? dropout : 0f);
    }

    @Override
    public void forwardInference(Tensor y, Tensor x, int M) {
        refreshNorm(false);
        run(y, x, M, 0f);
    }

    /**
     * Holds the norm at the current A and B (true) until released (false), while m may still move:
     * the function whose gradient backward computes, for checking it against finite differences.
     */
    void holdNorm(boolean hold) {
        if (heldA != null) {
            heldA.close();
            heldB.close();
            heldA = heldB = null;
        }
        if (hold) {
            heldA = ops.allocate(DType.F32, a.value().shape());
            ops.copy(heldA, a.value());
            heldB = ops.allocate(DType.F32, b.value().shape());
            ops.copy(heldB, b.value());
        }
        normCurrent = false;
    }

    private void refreshNorm(boolean always) {
        boolean frozen = a.grad() == null && b.grad() == null && magnitude.grad() == null && base.weight().grad() == null;
        if (normCurrent && frozen && !always) return;
        ops.doraNorm(norm, g, base.weight().value(), heldA != null ? heldA : a.value(), heldB != null ? heldB : b.value(),
                magnitude.value(), scale, normWs);
        normCurrent = frozen;
    }

    private void run(Tensor y, Tensor x, int M, float p) {
        ensureRows(M);
        lastDropout = p;
        // fixed here and reused by backward, so both see the same mask
        lastSeed = p > 0f ? seeds.getAsLong() : 0L;
        Parameter bias = base.bias();
        Tensor uM = u.rows(M);
        ops.loraForward(uM, t.rows(M), x.rows(M), base.weight().value(), null, a.value(), b.value(), scale, p, lastSeed,
                ws);
        ops.doraScaleForward(y.rows(M), uM, g, bias == null ? null : bias.value());
    }

    @Override
    public void backward(Tensor dx, Tensor dy, Tensor x, int M) {
        Parameter bias = base.bias();
        Tensor dw = base.weight().grad(), dbias = bias == null ? null : bias.grad();
        if (dx == null && dw == null && dbias == null && a.grad() == null && b.grad() == null && magnitude.grad() == null) {
            return;
        }
        if (M > rowsCapacity) throw new IllegalStateException("DoRA backward over " + M + " rows without a forward");
        Tensor duM = du.rows(M);
        ops.doraScaleBackward(duM, magnitude.grad(), dbias, dy.rows(M), u.rows(M), g, norm);
        ops.loraBackward(dx == null ? null : dx.rows(M), dw, null, a.grad(), b.grad(), duM, x.rows(M), t.rows(M),
                base.weight().value(), a.value(), b.value(), scale, lastDropout, lastSeed, ws);
    }

    /** W' = m / ||W + scale·B·A|| o (W + scale·B·A), per output row, as a new tensor. */
    Tensor merged(Ops ops, Arena arena) {
        int out = outFeatures(), in = inFeatures();
        Tensor w = arena.f32(out, in);
        ops.copy(w, base.weight().value());
        Tensor sb = arena.f32(out, r);
        ops.copy(sb, b.value());
        ops.scale(sb, scale);
        // linear backward's dx += dy·w with dy = s·B [out, r] and w = A [r, in] is W += s·B·A in one GEMM
        ops.linearBackward(w, null, null, sb, null, a.value());
        Tensor n = arena.f32(out), gain = arena.f32(out);
        try (Tensor nws = ops.allocate(DType.F32, Math.max(1, ops.doraNormWorkspaceFloats(in, out, r)))) {
            ops.doraNorm(n, gain, base.weight().value(), a.value(), b.value(), magnitude.value(), scale, nws);
        }
        float[] gv = ops.readFloats(gain);
        for (int j = 0; j < out; j++) ops.scale(w.slice(j, j + 1), gv[j]);
        return w;
    }

    // Grows to the largest M seen; steps of the same size never allocate.
    private void ensureRows(int M) {
        if (closed) throw new IllegalStateException("DoRA projection is closed");
        if (M <= rowsCapacity) return;
        freeBuffers();
        int in = inFeatures(), out = outFeatures();
        t = ops.allocate(DType.F32, M, r);
        u = ops.allocate(DType.F32, M, out);
        du = ops.allocate(DType.F32, M, out);
        long wsFloats = Math.max(1, Math.max(ops.loraWorkspaceFloats(M, in, out, r, dropout),
                ops.loraWorkspaceFloats(M, in, out, r, 0f)));
        ws = ops.allocate(DType.F32, wsFloats);
        rowsCapacity = M;
    }

    private void freeBuffers() {
        for (Tensor x : new Tensor[] {t, u, du, ws}) if (x != null) x.close();
        t = u = du = ws = null;
        rowsCapacity = 0;
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> p = new ArrayList<>(base.parameters());
        p.add(a);
        p.add(b);
        p.add(magnitude);
        return p;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        freeBuffers();
        holdNorm(false);
        norm.close();
        g.close();
        normWs.close();
        for (Parameter p : List.of(a, b, magnitude)) {
            p.close();
            p.value().close();
        }
    }
}
