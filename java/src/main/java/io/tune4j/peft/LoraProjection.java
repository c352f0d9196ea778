package io.tune4j.peft;

import io.tune4j.model.DenseProjection;
import io.tune4j.model.Parameter;
import io.tune4j.model.Projection;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A projection with a low-rank update, y = x W^T (+b) + scale·(drop(x) A^T) B^T, through the fused
 * LoRA op. W (and b) stay as the wrapped projection has them: frozen under LoRA, so no gradient is
 * computed for them. The saved low-rank activation t [M, r] and the op's scratch grow to the
 * largest M seen (training B·T rows, or an inference context's rows) and are reused after that.
 */
public final class LoraProjection implements Projection {
    private final Ops ops;
    private final DenseProjection base;
    private final Parameter a; // [r, in]
    private final Parameter b; // [out, r]
    private final int r;
    private final float scale;
    private final float dropout;
    private final LongSupplier seeds;
    private boolean training = true;
    private Tensor t;
    private Tensor ws;
    private int rowsCapacity;
    private long lastSeed;
    private float lastDropout;
    private boolean closed;

    /** A and B are owned by this projection from now on (closed with it). */
    LoraProjection(Ops ops, DenseProjection base, Parameter a, Parameter b, float scale, float dropout, LongSupplier seeds) {
        this.ops = ops;
        this.base = base;
        this.a = a;
        this.b = b;
        this.r = Math.toIntExact(a.value().dim(0));
        this.scale = scale;
        this.dropout = dropout;
        this.seeds = seeds;
        if (a.value().dim(1) != base.inFeatures() || b.value().dim(0) != base.outFeatures() || b.value().dim(1) != r) {
            throw new IllegalArgumentException("LoRA shapes A" + java.util.Arrays.toString(a.value().shape()) + " B"
                    + java.util.Arrays.toString(b.value().shape()) + " do not fit a projection " + base.inFeatures()
                    + " -> " + base.outFeatures());
        }
    }

    public DenseProjection base() {
        return base;
    }

    public Parameter loraA() {
        return a;
    }

    public Parameter loraB() {
        return b;
    }

    public int rank() {
        return r;
    }

    public float scale() {
        return scale;
    }

    /** Dropout applies only while training (as with torch's module.train()). */
    void setTraining(boolean training) {
        this.training = training;
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
        run(y, x, M, training ? dropout : 0f);
    }

    @Override
    public void forwardInference(Tensor y, Tensor x, int M) {
        run(y, x, M, 0f);
    }

    private void run(Tensor y, Tensor x, int M, float p) {
        ensureRows(M);
        lastDropout = p;
        // the seed is fixed here and reused by backward, so both see the same mask
        lastSeed = p > 0f ? seeds.getAsLong() : 0L;
        Parameter bias = base.bias();
        ops.loraForward(y.rows(M), t.rows(M), x.rows(M), base.weight().value(), bias == null ? null : bias.value(),
                a.value(), b.value(), scale, p, lastSeed, ws);
    }

    @Override
    public void backward(Tensor dx, Tensor dy, Tensor x, int M) {
        Parameter bias = base.bias();
        Tensor dw = base.weight().grad(), db = bias == null ? null : bias.grad();
        if (dx == null && dw == null && db == null && a.grad() == null && b.grad() == null) return;
        if (M > rowsCapacity) throw new IllegalStateException("LoRA backward over " + M + " rows without a forward");
        ops.loraBackward(dx == null ? null : dx.rows(M), dw, db, a.grad(), b.grad(), dy.rows(M), x.rows(M), t.rows(M),
                base.weight().value(), a.value(), b.value(), scale, lastDropout, lastSeed, ws);
    }

    // Grows to the largest M seen; steps of the same size never allocate.
    private void ensureRows(int M) {
        if (closed) throw new IllegalStateException("LoRA projection is closed");
        if (M <= rowsCapacity) return;
        int rows = M;
        freeBuffers();
        t = ops.allocate(DType.F32, rows, r);
        // evaluation runs without dropout, whose workspace may be the larger one
        long wsFloats = Math.max(1, Math.max(ops.loraWorkspaceFloats(rows, inFeatures(), outFeatures(), r, dropout),
                ops.loraWorkspaceFloats(rows, inFeatures(), outFeatures(), r, 0f)));
        ws = ops.allocate(DType.F32, wsFloats);
        rowsCapacity = rows;
    }

    private void freeBuffers() {
        if (t != null) t.close();
        if (ws != null) ws.close();
        t = null;
        ws = null;
        rowsCapacity = 0;
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> p = new ArrayList<>(base.parameters());
        p.add(a);
        p.add(b);
        return p;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        freeBuffers();
        a.close();
        b.close();
        a.value().close();
        b.value().close();
    }
}
