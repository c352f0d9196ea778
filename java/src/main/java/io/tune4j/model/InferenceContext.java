package io.tune4j.model;

import io.tune4j.ops.AttentionShape;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;

/**
 * KV cache and step buffers for decoding up to {@code slots} sequences of up to {@code maxSeq}
 * tokens. One step processes a set of segments (a prompt being prefilled, or one new token per
 * running sequence) with batched projections; buffers are sized once for {@code maxRows} rows.
 */
public final class InferenceContext implements AutoCloseable {
    final LlamaModel model;
    public final int slots;
    public final int maxSeq;
    public final int maxRows;
    private final Arena arena;  // the model's backend, KV cache included
    final Tensor[] cacheK; // per layer [slots, maxSeq, kvDim]
    final Tensor[] cacheV;
    final BlockBuffers buf = new BlockBuffers(); // every layer's, aliased onto the few buffers below
    final BlockBuffers stepBuf = new BlockBuffers(); // buf's rows of the current step
    final BlockPass pass;
    final Tensor ids;        // [maxRows]
    final Tensor positions;  // [maxRows]
    final Tensor segStart;   // [maxRows]
    final RowAdapters rowAdapters; // adapter slot of each row of the current step
    final Tensor attnWs;
    final Tensor x;          // [maxRows, d]
    final Tensor last;       // [maxRows, d]
    final Tensor logits;     // [maxRows, V]
    // segments of the current step
    int segmentCount;
    final int[] segRow;
    final int[] segLen;
    final int[] segSlot;

    InferenceContext(LlamaModel model, int slots, int maxSeq, int maxRows) {
        LlamaConfig cfg = model.config();
        if (maxSeq > cfg.maxPositions()) maxSeq = cfg.maxPositions();
        this.model = model;
        this.arena = new Arena(model.ops());
        this.slots = slots;
        this.maxSeq = maxSeq;
        this.maxRows = maxRows;
        int L = cfg.numLayers(), d = cfg.hiddenSize(), I = cfg.intermediateSize();
        cacheK = new Tensor[L];
        cacheV = new Tensor[L];
        for (int l = 0; l < L; l++) {
            cacheK[l] = arena.f32(slots, maxSeq, cfg.kvDim());
            cacheV[l] = arena.f32(slots, maxSeq, cfg.kvDim());
        }
        // nothing is kept for a backward, so the block runs in place where it can: one norm output
        // and rstd for both norms, head norms and SwiGLU in place, both sub-blocks' outputs in one
        // buffer, and the residual stream x updated in place (x2 == x)
        buf.h1 = buf.h2 = arena.f32(maxRows, d);
        buf.rstd1 = buf.rstd2 = buf.rstdO = buf.rstdMlp = arena.f32(maxRows);
        if (cfg.features().qkNorm()) buf.rstdQ = buf.rstdK = arena.f32((long) maxRows * cfg.numHeads());
        buf.q = buf.qPre = arena.f32(maxRows, cfg.qDim());
        buf.k = buf.kPre = arena.f32(maxRows, cfg.kvDim());
        buf.v = arena.f32(maxRows, cfg.kvDim());
        buf.att = arena.f32(maxRows, cfg.qDim());
        buf.lse = arena.f32(maxRows, cfg.numHeads());
        buf.o = buf.mlp = arena.f32(maxRows, d);
        buf.g = buf.s = arena.f32(maxRows, I);
        buf.u = arena.f32(maxRows, I);
        if (cfg.features().fused()) {
            buf.qkv = arena.f32(maxRows, cfg.qDim() + 2L * cfg.kvDim());
            buf.gateUp = arena.f32(maxRows, 2L * I);
        }
        ids = arena.i32(maxRows);
        positions = arena.i32(maxRows);
        segStart = arena.i32(maxRows);
        rowAdapters = new RowAdapters(model.ops(), arena.i32(maxRows), maxRows);
        int maxPrefix = 0;
        for (DecoderLayer layer : model.layers()) maxPrefix = Math.max(maxPrefix, layer.prefixLength());
        long ws = model.ops().attentionWorkspaceFloats(
                cfg.attentionShape(1, maxRows, maxSeq, maxPrefix, 0));
        attnWs = arena.f32(Math.max(1, ws));
        x = arena.f32(maxRows, d);
        buf.x2 = x;
        pass = new Pass();
        last = arena.f32(maxRows, d);
        logits = arena.f32(maxRows, cfg.vocabSize());
        segRow = new int[maxRows];
        segLen = new int[maxRows];
        segSlot = new int[maxRows];
    }

    // decoding: projections serve each row its adapter; each segment's keys and values go into its
    // KV-cache slot and its queries attend to that slot only
    private final class Pass extends BlockPass {
        Pass() {
            super(InferenceContext.this.model, InferenceContext.this.positions);
        }

        @Override
        void project(Projection p, Tensor y, Tensor x, int M) {
            p.forwardInference(y, x, M, rowAdapters);
        }

        @Override
        void attention(DecoderLayer layer, BlockBuffers a, int M) {
            LlamaConfig cfg = model.config();
            Ops ops = model.ops();
            int T = maxSeq;
            Tensor cacheK = InferenceContext.this.cacheK[layer.index], cacheV = InferenceContext.this.cacheV[layer.index];
            for (int si = 0; si < segmentCount; si++) {
                int row = segRow[si], n = segLen[si], slot = segSlot[si];
                Tensor start = segStart.slice(si, si + 1);
                Tensor kSlot = cacheK.slice(slot, slot + 1), vSlot = cacheV.slice(slot, slot + 1);
                ops.kvWrite(kSlot, a.k.slice(row, row + n), start);
                ops.kvWrite(vSlot, a.v.slice(row, row + n), start);
                AttentionShape s = cfg.attentionShape(1, n, T, layer.prefixLength(), layer.window);
                ops.attentionForward(a.att.slice(row, row + n), a.lse, a.q.slice(row, row + n), kSlot, vSlot,
                        layer.pk(), layer.pv(), start, null, s, attnWs);
            }
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
