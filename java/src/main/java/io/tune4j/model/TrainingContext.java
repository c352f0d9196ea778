package io.tune4j.model;

import io.tune4j.ops.AttentionShape;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.util.Arrays;

/**
 * Everything one training or evaluation step over a [B,T] batch needs, allocated once: the
 * residual stream after every layer, each layer's saved activations, and the backward scratch.
 * Steps reuse it; nothing is allocated per step.
 *
 * <p>With gradient checkpointing all layers share one set of saved activations: forward keeps
 * only the residual stream entering each layer, and backward re-runs each layer's forward just
 * before its backward. Activation memory drops from L layers to one, for about a third more compute.
 */
public final class TrainingContext implements AutoCloseable {
    final LlamaModel model;
    public final int B;
    public final int T;
    final int M;
    private final Arena arena;  // the model's backend: a step runs where its buffers live
    final Tensor ids;        // [M] I32
    final Tensor targets;    // [M] I32 (-100 = no loss)
    final Tensor positions;  // [M] I32
    Tensor kvStart;          // [M] I32 or null (packing)
    private final Tensor kvStartBuf;
    final Tensor[] xs;       // residual stream, L+1 of [M,d]
    final BlockBuffers[] acts; // each layer's saved activations; with checkpointing L references to one set
    final boolean recompute;
    final Tensor hFinal;     // [M,d]
    final Tensor rstdFinal;  // [M]
    final Tensor dres;       // [M,d] gradient of the residual stream
    final Scratch scratch;
    final BlockPass pass;
    final Tensor lmWs;
    final int lmBlockRows;
    private Tensor attnWs;
    private int targetCount;
    private long attnWsFloats;

    static final class Scratch {
        Tensor ds, dg, du, dh, datt, dq, dk, dv;
        Tensor dqPre, dkPre; // gradients of q/k before their per-head norms, else null
        Tensor dpost;        // gradient of an output before its post-norm (Gemma), else null
        // fused projections (Phi-3): forward's [q|k|v] and [gate|up] before the split, and backward's
        // concatenated gradients; else null
        Tensor qkv, gateUp;
    }

    TrainingContext(LlamaModel model, int B, int T, boolean gradientCheckpointing) {
        LlamaConfig cfg = model.config();
        if (T > cfg.maxPositions()) {
            throw new IllegalArgumentException("sequence length " + T + " exceeds the model's context of "
                    + cfg.maxPositions() + " tokens");
        }
        this.model = model;
        this.arena = new Arena(model.ops());
        this.B = B;
        this.T = T;
        this.M = Math.multiplyExact(B, T);
        this.recompute = gradientCheckpointing;
        int d = cfg.hiddenSize(), I = cfg.intermediateSize(), L = cfg.numLayers();
        ids = arena.i32(M);
        targets = arena.i32(M);
        positions = arena.i32(M);
        kvStartBuf = arena.i32(M);
        pass = new Pass();
        xs = new Tensor[L + 1];
        for (int i = 0; i <= L; i++) xs[i] = arena.f32(M, d);
        acts = new BlockBuffers[L];
        for (int l = 0; l < L; l++) {
            if (gradientCheckpointing && l > 0) {
                acts[l] = acts[0];
                continue;
            }
            BlockBuffers a = new BlockBuffers();
            a.h1 = arena.f32(M, d);
            a.rstd1 = arena.f32(M);
            a.q = arena.f32(M, cfg.qDim());
            a.k = arena.f32(M, cfg.kvDim());
            a.v = arena.f32(M, cfg.kvDim());
            a.att = arena.f32(M, cfg.qDim());
            a.lse = arena.f32(M, cfg.numHeads());
            a.x2 = arena.f32(M, d);
            a.h2 = arena.f32(M, d);
            a.rstd2 = arena.f32(M);
            a.g = arena.f32(M, I);
            a.u = arena.f32(M, I);
            a.s = arena.f32(M, I);
            if (cfg.features().qkNorm()) {
                a.qPre = arena.f32(M, cfg.qDim());
                a.kPre = arena.f32(M, cfg.kvDim());
                a.rstdQ = arena.f32((long) M * cfg.numHeads());
                a.rstdK = arena.f32((long) M * cfg.numKvHeads());
            }
            if (cfg.features().extras().sandwichNorms()) {
                a.o = arena.f32(M, d);
                a.rstdO = arena.f32(M);
                a.mlp = arena.f32(M, d);
                a.rstdMlp = arena.f32(M);
            }
            acts[l] = a;
        }
        hFinal = arena.f32(M, d);
        rstdFinal = arena.f32(M);
        dres = arena.f32(M, d);
        scratch = new Scratch();
        scratch.ds = arena.f32(M, I);
        scratch.dg = arena.f32(M, I);
        scratch.du = arena.f32(M, I);
        scratch.dh = arena.f32(M, d);
        scratch.datt = arena.f32(M, cfg.qDim());
        scratch.dq = arena.f32(M, cfg.qDim());
        scratch.dk = arena.f32(M, cfg.kvDim());
        scratch.dv = arena.f32(M, cfg.kvDim());
        if (cfg.features().qkNorm()) {
            scratch.dqPre = arena.f32(M, cfg.qDim());
            scratch.dkPre = arena.f32(M, cfg.kvDim());
        }
        if (cfg.features().extras().sandwichNorms()) scratch.dpost = arena.f32(M, d);
        if (cfg.features().fused()) {
            scratch.qkv = arena.f32(M, cfg.qDim() + 2L * cfg.kvDim());
            scratch.gateUp = arena.f32(M, 2L * I);
            // backward needs only the split parts: forward's outputs before the split share backward's scratch
            for (BlockBuffers a : acts) {
                a.qkv = scratch.qkv;
                a.gateUp = scratch.gateUp;
            }
        }
        // logits exist for a block of rows at a time: cap the block at ~64 MiB of floats
        lmBlockRows = (int) Math.max(1, Math.min(M, (16L << 20) / cfg.vocabSize()));
        lmWs = arena.f32((long) lmBlockRows * cfg.vocabSize());
    }

    // training and evaluation: the projections keep what backward needs; attention runs over the whole batch
    private final class Pass extends BlockPass {
        Pass() {
            super(TrainingContext.this.model, TrainingContext.this.positions);
        }

        @Override
        void project(Projection p, Tensor y, Tensor x, int M) {
            p.forward(y, x, M);
        }

        @Override
        void attention(DecoderLayer layer, BlockBuffers a, int M) {
            AttentionShape s = attentionShape(layer.prefixLength(), layer.window);
            model.ops().attentionForward(a.att, a.lse, a.q, a.k, a.v, layer.pk(), layer.pv(), null, kvStart, s,
                    attentionWs(s));
        }
    }

    AttentionShape attentionShape(int prefix, int window) {
        LlamaConfig cfg = model.config();
        return cfg.attentionShape(B, T, T, prefix, window);
    }

    /** Attention scratch, grown (rarely: only when the prefix length changes) to the largest need. */
    Tensor attentionWs(AttentionShape s) {
        long need = Math.max(1, model.ops().attentionWorkspaceFloats(s));
        if (need > attnWsFloats) {
            if (attnWs != null) attnWs.close();
            attnWs = model.ops().allocate(io.tune4j.tensor.DType.F32, need);
            attnWsFloats = need;
        }
        return attnWs;
    }

    /**
     * Loads a batch: ids and targets [B*T] (targets -100 where no loss), positions per token
     * (null: 0..T-1 in each row), and optionally the first visible key per token (packing).
     */
    public void setBatch(int[] tokenIds, int[] targetIds, int[] tokenPositions, int[] firstVisibleKey) {
        requireLength("ids", tokenIds);
        requireLength("targets", targetIds);
        Ops ops = model.ops();
        ops.write(ids, tokenIds);
        ops.write(targets, targetIds);
        int counted = 0;
        for (int t : targetIds) if (t != -100) counted++;
        targetCount = counted;
        int[] pos = tokenPositions;
        if (pos == null) {
            pos = new int[M];
            for (int i = 0; i < M; i++) pos[i] = i % T;
        } else {
            requireLength("positions", pos);
        }
        ops.write(positions, pos);
        if (firstVisibleKey != null) {
            requireLength("kvStart", firstVisibleKey);
            ops.write(kvStartBuf, firstVisibleKey);
            kvStart = kvStartBuf;
        } else {
            kvStart = null;
        }
    }

    private void requireLength(String what, int[] a) {
        if (a.length != M) throw new IllegalArgumentException(what + " has " + a.length + " entries, expected B*T = " + M);
    }

    // counted on the host when the batch is set, so a step never reads its targets back from the device
    int countTargets() {
        return targetCount;
    }

    /** The residual stream (hidden states) after the final norm, [B*T, d]; valid after a forward. */
    public Tensor finalHidden() {
        return hFinal;
    }

    public boolean gradientCheckpointing() {
        return recompute;
    }

    @Override
    public void close() {
        if (attnWs != null) attnWs.close();
        arena.close();
    }

    @Override
    public String toString() {
        return "TrainingContext[B=" + B + ", T=" + T + ", layers=" + Arrays.toString(new int[] {acts.length})
                + (recompute ? ", gradient checkpointing" : "") + "]";
    }
}
