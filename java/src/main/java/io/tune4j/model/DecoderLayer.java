package io.tune4j.model;

import io.tune4j.model.arch.ModuleTable.Proj;
import io.tune4j.ops.AttentionShape;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * One Llama-family block: x + attn(norm(x)), then + mlp(norm(.)). The family's extras (q/k norms,
 * a sliding window) come from the config. Projections are pluggable so fine-tuning methods can wrap
 * them; an optional prefix of trainable keys/values per layer serves prefix tuning.
 */
public final class DecoderLayer implements AutoCloseable {
    final int index;
    final LlamaConfig cfg;
    final Ops ops;
    Parameter attnNorm;     // input_layernorm
    Parameter ffnNorm;      // post_attention_layernorm
    Parameter qNorm, kNorm; // self_attn.q_norm / k_norm [headDim] (Qwen3), or null
    final int window;       // sliding-window size of this layer's attention, 0: full causal
    private final Projection[] proj = new Projection[Proj.values().length];
    Projection q, k, v, o, gate, up, down; // proj's entries, named for the block's forward
    Parameter prefixKeys;   // [P, kvDim] or null
    Parameter prefixValues; // [P, kvDim] or null
    BlockHook attnHook;     // applied to o_proj's output before the residual add, or null
    BlockHook mlpHook;      // applied to down_proj's output before the residual add, or null

    DecoderLayer(int index, LlamaConfig cfg, Ops ops, Parameter attnNorm, Parameter ffnNorm, Parameter qNorm,
                 Parameter kNorm, java.util.Map<Proj, Projection> projections) {
        this.index = index;
        this.cfg = cfg;
        this.ops = ops;
        this.attnNorm = attnNorm;
        this.ffnNorm = ffnNorm;
        this.qNorm = qNorm;
        this.kNorm = kNorm;
        this.window = cfg.features().windowOf(index);
        if ((qNorm == null) == cfg.features().qkNorm() || (kNorm == null) == cfg.features().qkNorm()) {
            throw new IllegalArgumentException("layer " + index + ": q_norm/k_norm must be given exactly when the "
                    + cfg.modelType() + " config has them");
        }
        for (Proj p : Proj.values()) {
            Projection x = projections.get(p);
            if (x == null) throw new IllegalArgumentException("layer " + index + ": " + p.module + " is missing");
            set(p, x);
        }
    }

    private void set(Proj p, Projection x) {
        proj[p.ordinal()] = x;
        switch (p) {
            case Q -> q = x;
            case K -> k = x;
            case V -> v = x;
            case O -> o = x;
            case GATE -> gate = x;
            case UP -> up = x;
            case DOWN -> down = x;
        }
    }

    /** This layer's sliding window (0: full causal attention). */
    public int window() {
        return window;
    }

    public int index() {
        return index;
    }

    public int prefixLength() {
        return prefixKeys == null ? 0 : Math.toIntExact(prefixKeys.value().dim(0));
    }

    /** Installs (or with nulls removes) a per-layer prefix of keys/values [P, kvDim]. */
    public void setPrefix(Parameter keys, Parameter values) {
        this.prefixKeys = keys;
        this.prefixValues = values;
    }

    /** Installs (or with null removes) the hook on the attention output (after o_proj, before the residual add). */
    public void setAttentionHook(BlockHook hook) {
        this.attnHook = hook;
    }

    /** Installs (or with null removes) the hook on the MLP output (after down_proj, before the residual add). */
    public void setMlpHook(BlockHook hook) {
        this.mlpHook = hook;
    }

    public BlockHook attentionHook() {
        return attnHook;
    }

    public BlockHook mlpHook() {
        return mlpHook;
    }

    /** Projection by Hugging Face module name (q_proj, ..., down_proj). */
    public Projection projection(String module) {
        return proj[Proj.of(module).ordinal()];
    }

    /** RMSNorm weight by Hugging Face module path: input_layernorm, post_attention_layernorm, self_attn.q_norm/k_norm. */
    public Parameter norm(String module) {
        Parameter n = switch (module) {
            case "input_layernorm" -> attnNorm;
            case "post_attention_layernorm" -> ffnNorm;
            case "self_attn.q_norm" -> qNorm;
            case "self_attn.k_norm" -> kNorm;
            default -> null;
        };
        if (n == null) {
            throw new IllegalArgumentException("unknown norm '" + module + "' (expected input_layernorm, "
                    + "post_attention_layernorm" + (qNorm != null ? ", self_attn.q_norm or self_attn.k_norm)" : ")"));
        }
        return n;
    }

    /** Replaces a norm weight (e.g. with a trainable copy of it), same shape; returns the old one. */
    public Parameter replaceNorm(String module, Parameter replacement) {
        Parameter old = norm(module);
        if (!java.util.Arrays.equals(old.value().shape(), replacement.value().shape())) {
            throw new IllegalArgumentException(module + ": replacement has shape "
                    + java.util.Arrays.toString(replacement.value().shape()) + ", expected "
                    + java.util.Arrays.toString(old.value().shape()));
        }
        switch (module) {
            case "input_layernorm" -> attnNorm = replacement;
            case "post_attention_layernorm" -> ffnNorm = replacement;
            case "self_attn.q_norm" -> qNorm = replacement;
            default -> kNorm = replacement;
        }
        return old;
    }

    /** Replaces a projection (e.g. with a LoRA wrapper around it); returns the old one. */
    public Projection replaceProjection(String module, Projection replacement) {
        Proj p = Proj.of(module);
        Projection old = proj[p.ordinal()];
        set(p, replacement);
        return old;
    }

    public List<Parameter> parameters() {
        List<Parameter> out = new ArrayList<>();
        out.add(attnNorm);
        for (Projection p : List.of(q, k, v, o)) out.addAll(p.parameters());
        if (qNorm != null) {
            out.add(qNorm);
            out.add(kNorm);
        }
        out.add(ffnNorm);
        for (Projection p : List.of(gate, up, down)) out.addAll(p.parameters());
        if (attnHook != null) out.addAll(attnHook.parameters());
        if (mlpHook != null) out.addAll(mlpHook.parameters());
        if (prefixKeys != null) {
            out.add(prefixKeys);
            out.add(prefixValues);
        }
        return out;
    }

    // With a prefix of P virtual tokens the real tokens sit at positions P, P+1, ... as in Hugging Face,
    // where the prefix is a past_key_values cache of length P: the rotary table is read shifted by P rows.
    private void rope(LlamaModel m, Tensor x, Tensor positions, int M, int heads, boolean backward) {
        int P = prefixLength();
        Tensor cos = P == 0 ? m.ropeCos : m.ropeCos.slice(P, m.ropeMax);
        Tensor sin = P == 0 ? m.ropeSin : m.ropeSin.slice(P, m.ropeMax);
        if (backward) {
            ops.ropeBackward(x, positions, cos, sin, M, heads, cfg.headDim(), m.ropeMax - P);
        } else {
            ops.ropeForward(x, positions, cos, sin, M, heads, cfg.headDim(), m.ropeMax - P);
        }
    }

    // Qwen3's q_norm/k_norm: RMSNorm over each head's hd values, one weight shared by the heads
    private void headNorm(Tensor y, Tensor rstd, Tensor x, Parameter w, int M, int heads) {
        ops.rmsnormForward(y, rstd, x, w.value(), M * heads, cfg.headDim(), cfg.rmsNormEps());
    }

    private Tensor pk() {
        return prefixKeys == null ? null : prefixKeys.value();
    }

    private Tensor pv() {
        return prefixValues == null ? null : prefixValues.value();
    }

    // ---------------------------------------------------------------- training

    /** Forward over a [B,T] batch, keeping what backward needs in {@code a}. */
    void forward(TrainingContext c, TrainingContext.LayerActs a, Tensor xIn, Tensor xOut) {
        int M = c.M, d = cfg.hiddenSize(), hd = cfg.headDim();
        ops.rmsnormForward(a.h1, a.rstd1, xIn, attnNorm.value(), M, d, cfg.rmsNormEps());
        if (qNorm != null) {
            q.forward(a.qPre, a.h1, M);
            k.forward(a.kPre, a.h1, M);
            headNorm(a.q, a.rstdQ, a.qPre, qNorm, M, cfg.numHeads());
            headNorm(a.k, a.rstdK, a.kPre, kNorm, M, cfg.numKvHeads());
        } else {
            q.forward(a.q, a.h1, M);
            k.forward(a.k, a.h1, M);
        }
        v.forward(a.v, a.h1, M);
        rope(c.model, a.q, c.positions, M, cfg.numHeads(), false);
        rope(c.model, a.k, c.positions, M, cfg.numKvHeads(), false);
        AttentionShape s = c.attentionShape(prefixLength(), window);
        ops.attentionForward(a.att, a.lse, a.q, a.k, a.v, pk(), pv(), null, c.kvStart, s, c.attentionWs(s));
        o.forward(a.x2, a.att, M);
        if (attnHook != null) attnHook.forward(a.x2, M);
        ops.add(a.x2, a.x2, xIn, (long) M * d);
        ops.rmsnormForward(a.h2, a.rstd2, a.x2, ffnNorm.value(), M, d, cfg.rmsNormEps());
        gate.forward(a.g, a.h2, M);
        up.forward(a.u, a.h2, M);
        ops.swigluForward(a.s, a.g, a.u, (long) M * cfg.intermediateSize());
        down.forward(xOut, a.s, M);
        if (mlpHook != null) mlpHook.forward(xOut, M);
        ops.add(xOut, xOut, a.x2, (long) M * d);
    }

    /** On entry c.dres holds dL/dxOut; on exit dL/dxIn. Parameter gradients accumulate. */
    void backward(TrainingContext c, TrainingContext.LayerActs a, Tensor xIn) {
        int M = c.M, d = cfg.hiddenSize(), hd = cfg.headDim(), I = cfg.intermediateSize();
        TrainingContext.Scratch g = c.scratch;
        // MLP block: xOut = x2 + down(silu(gate(h2)) * up(h2))
        g.ds.fill(0f);
        if (mlpHook != null) {
            mlpHook.backward(g.dh, c.dres, M); // g.dh is free until the norm's backward below
            down.backward(g.ds, g.dh, a.s, M);
        } else {
            down.backward(g.ds, c.dres, a.s, M);
        }
        g.dg.fill(0f);
        g.du.fill(0f);
        ops.swigluBackward(g.dg, g.du, g.ds, a.g, a.u, (long) M * I);
        g.dh.fill(0f);
        gate.backward(g.dh, g.dg, a.h2, M);
        up.backward(g.dh, g.du, a.h2, M);
        ops.rmsnormBackward(c.dres, ffnNorm.grad(), g.dh, a.x2, ffnNorm.value(), a.rstd2, M, d);
        // attention block: x2 = xIn + o(attn(rope(q(h1)), rope(k(h1)), v(h1)))
        g.datt.fill(0f);
        if (attnHook != null) {
            attnHook.backward(g.dh, c.dres, M);
            o.backward(g.datt, g.dh, a.att, M);
        } else {
            o.backward(g.datt, c.dres, a.att, M);
        }
        g.dq.fill(0f);
        g.dk.fill(0f);
        g.dv.fill(0f);
        AttentionShape s = c.attentionShape(prefixLength(), window);
        ops.attentionBackward(g.dq, g.dk, g.dv, prefixKeys == null ? null : prefixKeys.grad(),
                prefixValues == null ? null : prefixValues.grad(), g.datt, a.att, a.lse, a.q, a.k, a.v, pk(), pv(),
                null, c.kvStart, s, c.attentionWs(s));
        rope(c.model, g.dq, c.positions, M, cfg.numHeads(), true);
        rope(c.model, g.dk, c.positions, M, cfg.numKvHeads(), true);
        Tensor dq = g.dq, dk = g.dk;
        if (qNorm != null) {
            g.dqPre.fill(0f);
            g.dkPre.fill(0f);
            ops.rmsnormBackward(g.dqPre, qNorm.grad(), g.dq, a.qPre, qNorm.value(), a.rstdQ, M * cfg.numHeads(), hd);
            ops.rmsnormBackward(g.dkPre, kNorm.grad(), g.dk, a.kPre, kNorm.value(), a.rstdK, M * cfg.numKvHeads(), hd);
            dq = g.dqPre;
            dk = g.dkPre;
        }
        g.dh.fill(0f);
        q.backward(g.dh, dq, a.h1, M);
        k.backward(g.dh, dk, a.h1, M);
        v.backward(g.dh, g.dv, a.h1, M);
        ops.rmsnormBackward(c.dres, attnNorm.grad(), g.dh, xIn, attnNorm.value(), a.rstd1, M, d);
    }

    // ---------------------------------------------------------------- inference

    /**
     * Forward for decoding: rows of several sequences (segments) at once; each segment's keys and
     * values go into its KV-cache slot and its queries attend to that slot only. The projections
     * run batched over all rows.
     */
    void forwardCached(InferenceContext c, Tensor x, int M) {
        int d = cfg.hiddenSize(), hd = cfg.headDim(), kvDim = cfg.kvDim(), qDim = cfg.qDim();
        InferenceContext.Buffers b = c.buf;
        ops.rmsnormForward(b.h, b.rstd, x, attnNorm.value(), M, d, cfg.rmsNormEps());
        q.forwardInference(b.q, b.h, M, c.rowAdapters);
        k.forwardInference(b.k, b.h, M, c.rowAdapters);
        v.forwardInference(b.v, b.h, M, c.rowAdapters);
        if (qNorm != null) { // in place: each row's norm is reduced before it is written
            headNorm(b.q, b.rstdHeads, b.q, qNorm, M, cfg.numHeads());
            headNorm(b.k, b.rstdHeads, b.k, kNorm, M, cfg.numKvHeads());
        }
        rope(c.model, b.q, c.positions, M, cfg.numHeads(), false);
        rope(c.model, b.k, c.positions, M, cfg.numKvHeads(), false);
        Tensor cacheK = c.cacheK[index], cacheV = c.cacheV[index];
        int T = c.maxSeq;
        for (int si = 0; si < c.segmentCount; si++) {
            int row = c.segRow[si], n = c.segLen[si], slot = c.segSlot[si];
            Tensor start = c.segStart.slice(si, si + 1);
            Tensor kSlot = cacheK.slice(slot, slot + 1), vSlot = cacheV.slice(slot, slot + 1);
            ops.kvWrite(kSlot, b.k.slice(row, row + n), start, 1, n, T, kvDim);
            ops.kvWrite(vSlot, b.v.slice(row, row + n), start, 1, n, T, kvDim);
            AttentionShape s = new AttentionShape(1, n, T, prefixLength(), cfg.numHeads(), cfg.numKvHeads(), hd, window);
            ops.attentionForward(b.att.slice(row, row + n), b.lse, b.q.slice(row, row + n), kSlot, vSlot, pk(), pv(),
                    start, null, s, c.attnWs);
        }
        o.forwardInference(b.tmp, b.att, M, c.rowAdapters);
        if (attnHook != null) attnHook.forward(b.tmp, M);
        ops.add(x, x, b.tmp, (long) M * d);
        ops.rmsnormForward(b.h, b.rstd, x, ffnNorm.value(), M, d, cfg.rmsNormEps());
        gate.forwardInference(b.g, b.h, M, c.rowAdapters);
        up.forwardInference(b.u, b.h, M, c.rowAdapters);
        ops.swigluForward(b.g, b.g, b.u, (long) M * cfg.intermediateSize());
        down.forwardInference(b.tmp, b.g, M, c.rowAdapters);
        if (mlpHook != null) mlpHook.forward(b.tmp, M);
        ops.add(x, x, b.tmp, (long) M * d);
        assert qDim == b.q.dim(1);
    }

    /** {@link Projection#packForDecoding} of all seven projections; the bytes added. */
    public long packForDecoding() {
        long bytes = 0;
        for (Projection p : List.of(q, k, v, o, gate, up, down)) bytes += p.packForDecoding();
        return bytes;
    }

    @Override
    public void close() {
        for (Projection p : List.of(q, k, v, o, gate, up, down)) {
            try {
                p.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
