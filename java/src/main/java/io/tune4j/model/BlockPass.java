package io.tune4j.model;

import io.tune4j.tensor.Tensor;

/**
 * The two steps of {@link DecoderLayer#forward} that training and decoding run differently: how a
 * projection runs (training keeps what backward needs; decoding serves each row its adapter) and
 * attention (over the batch, or per sequence against its KV-cache slot). One instance per context,
 * so a forward creates nothing.
 */
abstract class BlockPass {
    final LlamaModel model;
    final Tensor positions; // [rows] I32, each row's position for RoPE

    BlockPass(LlamaModel model, Tensor positions) {
        this.model = model;
        this.positions = positions;
    }

    abstract void project(Projection p, Tensor y, Tensor x, int M);

    /** a.att (and what backward needs, a.lse) from a.q, a.k and a.v after RoPE. */
    abstract void attention(DecoderLayer layer, BlockBuffers a, int M);
}
