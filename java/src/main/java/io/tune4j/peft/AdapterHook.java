package io.tune4j.peft;

import io.tune4j.model.BlockHook;
import io.tune4j.model.Parameter;
import io.tune4j.ops.Activation;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.util.List;

/**
 * One bottleneck adapter y = x + act(x D^T + bd) U^T + bu on a sub-block's output. It keeps its
 * input and the bottleneck activations from the last forward; those buffers grow to the largest
 * row count seen and are reused after that.
 */
public final class AdapterHook implements BlockHook, AutoCloseable {
    private final Ops ops;
    private final Parameter down, downBias, up, upBias;
    private final int d, m;
    private final Activation act;
    private Tensor x, h, a, ws;
    private int rowsCapacity;
    private boolean closed;

    AdapterHook(Ops ops, Parameter down, Parameter downBias, Parameter up, Parameter upBias, Activation act) {
        this.ops = ops;
        this.down = down;
        this.downBias = downBias;
        this.up = up;
        this.upBias = upBias;
        this.m = Math.toIntExact(down.value().dim(0));
        this.d = Math.toIntExact(down.value().dim(1));
        this.act = act;
    }

    /** down.weight [m, d], down.bias [m], up.weight [d, m], up.bias [d]. */
    public List<Parameter> parameters() {
        return List.of(down, downBias, up, upBias);
    }

    @Override
    public void forward(Tensor y, int M) {
        ensureRows(M);
        Tensor in = x.rows(M), out = y.rows(M);
        ops.copy(in, out);
        ops.adapterForward(out, h.rows(M), a.rows(M), in, down.value(), downBias.value(), up.value(), upBias.value(),
                act);
    }

    @Override
    public void backward(Tensor dx, Tensor dy, int M) {
        if (M > rowsCapacity) throw new IllegalStateException("adapter backward over " + M + " rows without a forward");
        Tensor dIn = dx.rows(M);
        ops.fill(dIn, 0f);
        ops.adapterBackward(dIn, down.grad(), downBias.grad(), up.grad(), upBias.grad(), dy.rows(M), x.rows(M),
                h.rows(M), a.rows(M), down.value(), up.value(), act, ws);
    }

    private void ensureRows(int M) {
        if (closed) throw new IllegalStateException("adapter is closed");
        if (M <= rowsCapacity) return;
        freeBuffers();
        x = ops.allocate(DType.F32, M, d);
        h = ops.allocate(DType.F32, M, m);
        a = ops.allocate(DType.F32, M, m);
        ws = ops.allocate(DType.F32, (long) M * m);
        rowsCapacity = M;
    }

    private void freeBuffers() {
        for (Tensor t : new Tensor[] {x, h, a, ws}) if (t != null) t.close();
        x = h = a = ws = null;
        rowsCapacity = 0;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        freeBuffers();
        for (Parameter p : parameters()) {
            p.close();
            p.value().close();
        }
    }
}
