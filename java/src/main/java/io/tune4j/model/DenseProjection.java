package io.tune4j.model;

import io.tune4j.ops.Ops;
import io.tune4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/** y = x W^T (+ b): the projection as stored in the checkpoint. */
public final class DenseProjection implements Projection {
    private final Ops ops;
    private final Parameter weight;
    private final Parameter bias;
    private final int in;
    private final int out;
    private Tensor packed; // bf16 weight for decoding, when packForDecoding found bf16 products here

    public DenseProjection(Ops ops, Parameter weight, Parameter bias) {
        this.ops = ops;
        this.weight = weight;
        this.bias = bias;
        this.out = Math.toIntExact(weight.value().dim(0));
        this.in = Math.toIntExact(weight.value().dim(1));
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    @Override
    public void forward(Tensor y, Tensor x, int M) {
        ops.linearForward(y.rows(M), x.rows(M), weight.value(), bias == null ? null : bias.value());
    }

    @Override
    public void forwardInference(Tensor y, Tensor x, int M) {
        if (packed == null) {
            forward(y, x, M);
        } else {
            ops.linearForwardPacked(y.rows(M), x.rows(M), packed, bias == null ? null : bias.value(), in, out);
        }
    }

    @Override
    public long packForDecoding() {
        if (packed != null) return 0;
        packed = ops.packWeightsBf16(weight.value());
        return packed == null ? 0 : packed.numel() * 2;
    }

    @Override
    public void close() {
        if (packed != null) packed.close();
        packed = null;
    }

    @Override
    public void backward(Tensor dx, Tensor dy, Tensor x, int M) {
        Tensor db = bias == null ? null : bias.grad();
        if (dx == null && weight.grad() == null && db == null) return;
        ops.linearBackward(dx == null ? null : dx.rows(M), weight.grad(), db, dy.rows(M), x == null ? null : x.rows(M),
                weight.value());
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> p = new ArrayList<>();
        p.add(weight);
        if (bias != null) p.add(bias);
        return p;
    }
}
