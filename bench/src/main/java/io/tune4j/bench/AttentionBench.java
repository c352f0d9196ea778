package io.tune4j.bench;

import static io.tune4j.bench.Env.*;

import io.tune4j.ops.AttentionShape;
import io.tune4j.tensor.Tensor;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Causal GQA attention, B=4, T=256, 9 query heads over 3 KV heads of 64, forward and backward
 * to dq, dk, dv. libtorch runs it as Hugging Face's sdpa path does: transpose to [B,h,T,hd],
 * repeat the KV heads (repeat_kv), then scaled_dot_product_attention with is_causal.
 */
public class AttentionBench {
    static final AttentionShape SHAPE = new AttentionShape(BATCH, SEQ, SEQ, 0, HEADS, KV_HEADS, HEAD_DIM);
    static final String TORCH_IMPL = "scaled_dot_product_attention(is_causal) after repeat_kv";

    @State(Scope.Thread)
    public static class Ours extends OursState {
        Tensor q, k, v, out, lse, dout, dq, dk, dv, ws;

        @Setup(Level.Trial)
        public void setup() {
            q = normal(1, 1f, BATCH, SEQ, HEADS, HEAD_DIM);
            k = normal(2, 1f, BATCH, SEQ, KV_HEADS, HEAD_DIM);
            v = normal(3, 1f, BATCH, SEQ, KV_HEADS, HEAD_DIM);
            dout = normal(4, 1f, BATCH, SEQ, HEADS, HEAD_DIM);
            out = zeros(BATCH, SEQ, HEADS, HEAD_DIM);
            lse = zeros(BATCH, SEQ, HEADS);
            dq = zeros(BATCH, SEQ, HEADS, HEAD_DIM);
            dk = zeros(BATCH, SEQ, KV_HEADS, HEAD_DIM);
            dv = zeros(BATCH, SEQ, KV_HEADS, HEAD_DIM);
            ws = zeros(Math.max(1, ops.attentionWorkspaceFloats(SHAPE)));
        }
    }

    @State(Scope.Thread)
    public static class Torch extends TorchState {
        org.bytedeco.pytorch.Tensor q, k, v, dout;
        TensorOptional noMask;
        DoubleOptional defaultScale;
        LongOptional headAxis; // dim 1 of [B,h,T,hd]

        @Setup(Level.Trial)
        public void setup() {
            q = leaf(1, 1f, BATCH, SEQ, HEADS, HEAD_DIM);
            k = leaf(2, 1f, BATCH, SEQ, KV_HEADS, HEAD_DIM);
            v = leaf(3, 1f, BATCH, SEQ, KV_HEADS, HEAD_DIM);
            dout = normal(4, 1f, BATCH, SEQ, HEADS, HEAD_DIM);
            noMask = keep(new TensorOptional());
            defaultScale = keep(new DoubleOptional());
            headAxis = keep(new LongOptional(1));
        }
    }

    @Benchmark
    public void tune4j(Ours s) {
        s.ops.attentionForward(s.out, s.lse, s.q, s.k, s.v, null, null, null, null, SHAPE, s.ws);
        s.ops.attentionBackward(s.dq, s.dk, s.dv, null, null, s.dout, s.out, s.lse, s.q, s.k, s.v, null, null, null,
                null, SHAPE, s.ws);
    }

    @Benchmark
    public void libtorch(Torch s) {
        try (PointerScope scope = new PointerScope()) {
            int groups = HEADS / KV_HEADS;
            var q = s.q.transpose(1, 2);
            var k = s.k.transpose(1, 2).repeat_interleave(groups, s.headAxis, new LongOptional());
            var v = s.v.transpose(1, 2).repeat_interleave(groups, s.headAxis, new LongOptional());
            var out = torch.scaled_dot_product_attention(q, k, v, s.noMask, 0.0, true, s.defaultScale, false);
            Libtorch.backward(out.transpose(1, 2), s.dout);
        }
    }
}
