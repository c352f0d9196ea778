package io.tune4j.peft;

import io.tune4j.model.DenseProjection;
import io.tune4j.model.Parameter;
import io.tune4j.model.Projection;
import io.tune4j.model.RowAdapters;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.util.List;

/**
 * A base projection serving several LoRA adapters at once, for decoding: the base GEMM runs over
 * every row, then the multi-adapter op adds to each row the update of the adapter its slot holds
 * here (see {@link RowAdapters}). Slots whose adapter does not target this projection have rank 0.
 * Installed and filled by {@link LoraBank}; inference only, so training through it is refused.
 */
public final class MultiLoraProjection implements Projection {
    private final Ops ops;
    private final DenseProjection base;
    private final Tensor[] a; // per slot [r, in], or null
    private final Tensor[] b; // per slot [out, r], or null
    private final int[] ranks;
    private final float[] scales;
    private final boolean[] used;
    private Tensor ws;
    private long wsFloats;

    MultiLoraProjection(Ops ops, DenseProjection base, int slots) {
        this.ops = ops;
        this.base = base;
        this.a = new Tensor[slots];
        this.b = new Tensor[slots];
        this.ranks = new int[slots];
        this.scales = new float[slots];
        this.used = new boolean[slots];
    }

    public DenseProjection base() {
        return base;
    }

    /** Rank of the adapter in slot here, 0 when the slot is free or its adapter skips this projection. */
    public int rank(int slot) {
        return ranks[slot];
    }

    /** Takes ownership of A and B (closed when the slot is cleared). */
    void set(int slot, Tensor la, Tensor lb, float scale) {
        clear(slot);
        a[slot] = la;
        b[slot] = lb;
        ranks[slot] = Math.toIntExact(la.dim(0));
        scales[slot] = scale;
        used[slot] = true;
    }

    void clear(int slot) {
        if (a[slot] != null) a[slot].close();
        if (b[slot] != null) b[slot].close();
        a[slot] = null;
        b[slot] = null;
        ranks[slot] = 0;
        scales[slot] = 0f;
        used[slot] = false;
    }

    boolean empty() {
        for (boolean u : used) if (u) return false;
        return true;
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
    public void forwardInference(Tensor y, Tensor x, int M) {
        base.forwardInference(y, x, M);
    }

    @Override
    public long packForDecoding() {
        return base.packForDecoding();
    }

    @Override
    public void forwardInference(Tensor y, Tensor x, int M, RowAdapters rows) {
        base.forwardInference(y, x, M);
        if (rows == null || !rows.usesAny(used)) return;
        if (rows.rows() != M) throw new IllegalStateException("row adapter table has " + rows.rows() + " rows, the step " + M);
        long need = Math.max(1, ops.loraMultiWorkspaceFloats(M, inFeatures(), outFeatures(), maxRank()));
        if (need > wsFloats) {
            // grows to the largest step seen; equal steps never allocate
            if (ws != null) ws.close();
            ws = ops.allocate(DType.F32, need);
            wsFloats = need;
        }
        ops.loraMultiForward(y.rows(M), x.rows(M), rows.table().rows(M), a, b, ranks, scales, ws);
    }

    private int maxRank() {
        int m = 0;
        for (int r : ranks) m = Math.max(m, r);
        return m;
    }

    @Override
    public void forward(Tensor y, Tensor x, int M) {
        throw new IllegalStateException("a multi-adapter LoRA projection serves decoding only; attach a single adapter "
                + "(LoraMethod) to train or evaluate");
    }

    @Override
    public void backward(Tensor dx, Tensor dy, Tensor x, int M) {
        throw new IllegalStateException("a multi-adapter LoRA projection has no backward (inference only)");
    }

    @Override
    public List<Parameter> parameters() {
        return base.parameters();
    }

    @Override
    public void close() {
        for (int s = 0; s < a.length; s++) clear(s);
        if (ws != null) ws.close();
        ws = null;
        wsFloats = 0;
    }
}
