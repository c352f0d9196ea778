package io.tune4j.model;

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
    final Buffers buf = new Buffers();
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

    static final class Buffers {
        Tensor h, rstd, q, k, v, att, lse, tmp, g, u;
        Tensor rstdHeads; // per-head q/k norms' rstd (Qwen3), else null
        Tensor qkv, gateUp; // fused projections' outputs before the split (Phi-3), else null
    }

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
        buf.h = arena.f32(maxRows, d);
        buf.rstd = arena.f32(maxRows);
        if (cfg.features().qkNorm()) buf.rstdHeads = arena.f32((long) maxRows * cfg.numHeads());
        buf.q = arena.f32(maxRows, cfg.qDim());
        buf.k = arena.f32(maxRows, cfg.kvDim());
        buf.v = arena.f32(maxRows, cfg.kvDim());
        buf.att = arena.f32(maxRows, cfg.qDim());
        buf.lse = arena.f32(maxRows, cfg.numHeads());
        buf.tmp = arena.f32(maxRows, d);
        buf.g = arena.f32(maxRows, I);
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
        last = arena.f32(maxRows, d);
        logits = arena.f32(maxRows, cfg.vocabSize());
        segRow = new int[maxRows];
        segLen = new int[maxRows];
        segSlot = new int[maxRows];
    }

    @Override
    public void close() {
        arena.close();
    }
}
