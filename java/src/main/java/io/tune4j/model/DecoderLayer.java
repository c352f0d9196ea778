package io.tune4j.model;

import io.tune4j.model.arch.ModuleTable;
import io.tune4j.model.arch.ModuleTable.Proj;
import io.tune4j.ops.AttentionShape;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * One Llama-family block: x + attn(norm(x)), then + mlp(norm(.)). The family's extras (q/k norms,
 * a sliding window, Phi-3's fused qkv_proj and gate_up_proj) come from the config. Projections are
 * pluggable so fine-tuning methods can wrap them; an optional prefix of trainable keys/values per
 * layer serves prefix tuning.
 */
public final class DecoderLayer implements AutoCloseable {
    final int index;
    final LlamaConfig cfg;
    final Ops ops;
    Parameter attnNorm;     // input_layernorm
    Parameter ffnNorm;      // the MLP's input norm: post_attention_layernorm, or with sandwich norms pre_feedforward_layernorm
    Parameter postAttnNorm; // sandwich norms (Gemma): post_attention_layernorm on the attention output, else null
    Parameter postFfnNorm;  // sandwich norms: post_feedforward_layernorm on the MLP output, else null
    Parameter qNorm, kNorm; // self_attn.q_norm / k_norm [headDim] (Qwen3, Gemma 3), or null
    final float normOffset; // RMSNorm scales by (normOffset + w): 1 for Gemma
    final boolean sandwich;
    private final java.util.Map<String, ModuleTable.NormRole> normRoles; // this family's norms by module name
    final boolean gelu;     // GeGLU (Gemma) instead of SwiGLU
    final int window;       // sliding-window size of this layer's attention, 0: full causal
    private final Projection[] proj = new Projection[Proj.values().length];
    private final List<Proj> projs; // the ones this family's layer has, in checkpoint order
    final boolean fused;    // qkv_proj and gate_up_proj (Phi-3) instead of q/k/v and gate/up
    Projection q, k, v, o, gate, up, down; // proj's entries, named for the block's forward
    Projection qkv, gateUp; // the fused projections, or null
    Parameter prefixKeys;   // [P, kvDim] or null
    Parameter prefixValues; // [P, kvDim] or null
    BlockHook attnHook;     // applied to o_proj's output before the residual add, or null
    BlockHook mlpHook;      // applied to down_proj's output before the residual add, or null

    /** norms: every module of {@link ModuleTable#layerNorms} by name, e.g. "input_layernorm", "self_attn.q_norm". */
    DecoderLayer(int index, LlamaConfig cfg, Ops ops, java.util.Map<String, Parameter> norms,
                 java.util.Map<Proj, Projection> projections) {
        this.index = index;
        this.cfg = cfg;
        this.ops = ops;
        this.window = cfg.features().windowOf(index);
        this.normOffset = cfg.features().extras().normOffset();
        this.sandwich = cfg.features().extras().sandwichNorms();
        this.gelu = cfg.gatedGelu();
        this.projs = ModuleTable.projections(cfg);
        this.fused = cfg.features().fused();
        this.normRoles = ModuleTable.layerNormRoles(cfg);
        if (!norms.keySet().equals(normRoles.keySet())) {
            throw new IllegalArgumentException("layer " + index + ": norms " + norms.keySet() + ", expected "
                    + normRoles.keySet() + " for " + cfg.modelType());
        }
        normRoles.forEach((name, role) -> setNorm(role, norms.get(name)));
        for (Proj p : projs) {
            Projection x = projections.get(p);
            if (x == null) throw new IllegalArgumentException("layer " + index + ": " + p.module + " is missing");
            set(p, x);
        }
    }

    private void setNorm(ModuleTable.NormRole role, Parameter p) {
        switch (role) {
            case ATTENTION_INPUT -> attnNorm = p;
            case ATTENTION_OUTPUT -> postAttnNorm = p;
            case MLP_INPUT -> ffnNorm = p;
            case MLP_OUTPUT -> postFfnNorm = p;
            case QUERY -> qNorm = p;
            case KEY -> kNorm = p;
        }
    }

    private Parameter getNorm(String module) {
        ModuleTable.NormRole role = normRoles.get(module);
        if (role == null) return null;
        return switch (role) {
            case ATTENTION_INPUT -> attnNorm;
            case ATTENTION_OUTPUT -> postAttnNorm;
            case MLP_INPUT -> ffnNorm;
            case MLP_OUTPUT -> postFfnNorm;
            case QUERY -> qNorm;
            case KEY -> kNorm;
        };
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
            case QKV -> qkv = x;
            case GATE_UP -> gateUp = x;
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

    /** Projection by Hugging Face module name (q_proj, ..., down_proj; Phi-3: qkv_proj, ..., down_proj). */
    public Projection projection(String module) {
        return proj[own(module).ordinal()];
    }

    /** The module names of this layer's projections, in checkpoint order. */
    public List<String> projectionNames() {
        return projs.stream().map(p -> p.module).toList();
    }

    private Proj own(String module) {
        Proj p = Proj.of(module);
        if (!projs.contains(p)) {
            throw new IllegalArgumentException("module '" + module + "' is not a projection of " + cfg.modelType()
                    + " layers (expected one of " + String.join(", ", projectionNames()) + ")");
        }
        return p;
    }

    /** RMSNorm weight by Hugging Face module path (input_layernorm, post_attention_layernorm, ...; see {@link ModuleTable#layerNorms}). */
    public Parameter norm(String module) {
        Parameter n = getNorm(module);
        if (n == null) {
            throw new IllegalArgumentException("unknown norm '" + module + "' (expected one of "
                    + String.join(", ", ModuleTable.layerNorms(cfg)) + ")");
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
        setNorm(normRoles.get(module), replacement);
        return old;
    }

    /** Replaces a projection (e.g. with a LoRA wrapper around it); returns the old one. */
    public Projection replaceProjection(String module, Projection replacement) {
        Proj p = own(module);
        Projection old = proj[p.ordinal()];
        set(p, replacement);
        return old;
    }

    public List<Parameter> parameters() {
        List<Parameter> out = new ArrayList<>();
        out.add(attnNorm);
        for (Projection p : fused ? List.of(qkv, o) : List.of(q, k, v, o)) out.addAll(p.parameters());
        if (qNorm != null) {
            out.add(qNorm);
            out.add(kNorm);
        }
        if (postAttnNorm != null) out.add(postAttnNorm);
        out.add(ffnNorm);
        for (Projection p : fused ? List.of(gateUp, down) : List.of(gate, up, down)) out.addAll(p.parameters());
        if (postFfnNorm != null) out.add(postFfnNorm);
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
        // Gemma 3's sliding layers rotate with their own base
        Tensor allCos = window > 0 && m.ropeLocalCos != null ? m.ropeLocalCos : m.ropeCos;
        Tensor allSin = window > 0 && m.ropeLocalSin != null ? m.ropeLocalSin : m.ropeSin;
        Tensor cos = P == 0 ? allCos : allCos.slice(P, m.ropeMax);
        Tensor sin = P == 0 ? allSin : allSin.slice(P, m.ropeMax);
        // decoding's position buffer holds maxRows
        if (backward) {
            ops.ropeBackward(x, positions.rows(M), cos, sin);
        } else {
            ops.ropeForward(x, positions.rows(M), cos, sin);
        }
    }

    // Qwen3's q_norm/k_norm: RMSNorm over each head's hd values, one weight shared by the heads
    private void headNorm(Tensor y, Tensor rstd, Tensor x, Parameter w, int M, int heads) {
        // decoding shares one rstd buffer between q's heads and k's fewer
        norm(y, rstd.rows((long) M * heads), x, w);
    }

    // the family's RMSNorm: scale (normOffset + w)
    private void norm(Tensor y, Tensor rstd, Tensor x, Parameter w) {
        ops.rmsnormForward(y, rstd, x, w.value(), cfg.rmsNormEps(), normOffset);
    }

    private void normBackward(Tensor dx, Tensor dy, Tensor x, Parameter w, Tensor rstd) {
        ops.rmsnormBackward(dx, w.grad(), dy, x, w.value(), rstd, normOffset);
    }

    private void gated(Tensor out, Tensor g, Tensor u) {
        if (gelu) ops.gegluForward(out, g, u);
        else ops.swigluForward(out, g, u);
    }

    // qkv_proj's rows are q, then k, then v (Phi3Attention slices its output the same way)
    private void splitQkv(Tensor fusedOut, Tensor qOut, Tensor kOut, Tensor vOut, int M) {
        int qDim = cfg.qDim(), kvDim = cfg.kvDim();
        ops.copyColumns(qOut, 0, fusedOut, 0, M, qDim);
        ops.copyColumns(kOut, 0, fusedOut, qDim, M, kvDim);
        ops.copyColumns(vOut, 0, fusedOut, qDim + kvDim, M, kvDim);
    }

    // gate_up_proj's first half is the gate, the second the up projection (Phi3MLP's chunk(2))
    private void splitGateUp(Tensor fusedOut, Tensor gOut, Tensor uOut, int M) {
        int I = cfg.intermediateSize();
        ops.copyColumns(gOut, 0, fusedOut, 0, M, I);
        ops.copyColumns(uOut, 0, fusedOut, I, M, I);
    }

    Tensor pk() {
        return prefixKeys == null ? null : prefixKeys.value();
    }

    Tensor pv() {
        return prefixValues == null ? null : prefixValues.value();
    }

    // ---------------------------------------------------------------- forward

    /**
     * The block over M rows, for training, evaluation and decoding alike: {@code pass} runs the
     * projections and attention, {@code a} says where the tensors go. xOut = xIn + attn + mlp; for
     * decoding xOut, a.x2 and xIn are one buffer, updated in place.
     */
    void forward(BlockPass pass, BlockBuffers a, Tensor xIn, Tensor xOut, int M) {
        norm(a.h1, a.rstd1, xIn, attnNorm);
        Tensor qOut = qNorm != null ? a.qPre : a.q, kOut = qNorm != null ? a.kPre : a.k;
        if (fused) {
            pass.project(qkv, a.qkv, a.h1, M);
            splitQkv(a.qkv, qOut, kOut, a.v, M);
        } else {
            pass.project(q, qOut, a.h1, M);
            pass.project(k, kOut, a.h1, M);
            pass.project(v, a.v, a.h1, M);
        }
        if (qNorm != null) { // decoding: in place (qPre == q), each row's norm is reduced before it is written
            headNorm(a.q, a.rstdQ, a.qPre, qNorm, M, cfg.numHeads());
            headNorm(a.k, a.rstdK, a.kPre, kNorm, M, cfg.numKvHeads());
        }
        rope(pass.model, a.q, pass.positions, M, cfg.numHeads(), false);
        rope(pass.model, a.k, pass.positions, M, cfg.numKvHeads(), false);
        pass.attention(this, a, M);
        Tensor attnOut = branchOut(a.x2, xIn, a.o);
        pass.project(o, attnOut, a.att, M);
        if (attnHook != null) attnHook.forward(attnOut, M);
        residual(a.x2, xIn, attnOut, postAttnNorm, a.rstdO, M);
        norm(a.h2, a.rstd2, a.x2, ffnNorm);
        if (fused) {
            pass.project(gateUp, a.gateUp, a.h2, M);
            splitGateUp(a.gateUp, a.g, a.u, M);
        } else {
            pass.project(gate, a.g, a.h2, M);
            pass.project(up, a.u, a.h2, M);
        }
        gated(a.s, a.g, a.u);
        Tensor mlpOut = branchOut(xOut, a.x2, a.mlp);
        pass.project(down, mlpOut, a.s, M);
        if (mlpHook != null) mlpHook.forward(mlpOut, M);
        residual(xOut, a.x2, mlpOut, postFfnNorm, a.rstdMlp, M);
    }

    // A sub-block's output can go straight into its sum's buffer, which the residual add then
    // updates, unless a post-norm follows (backward reads its input) or that buffer holds the
    // residual itself (decoding); then it goes to its own buffer.
    private Tensor branchOut(Tensor sum, Tensor res, Tensor own) {
        return sandwich || sum == res ? own : sum;
    }

    // sum = res + [postNorm](y), where sum already holds y (training) or res (decoding)
    private void residual(Tensor sum, Tensor res, Tensor y, Parameter postNorm, Tensor rstd, int M) {
        if (sandwich) {
            Tensor normed = sum == res ? y : sum; // decoding norms in place, as the head norms
            norm(normed, rstd, y, postNorm);
            y = normed;
        }
        ops.add(sum, sum, y == sum ? res : y);
    }

    // ---------------------------------------------------------------- backward

    /** On entry c.dres holds dL/dxOut; on exit dL/dxIn. Parameter gradients accumulate. */
    void backward(TrainingContext c, BlockBuffers a, Tensor xIn) {
        int M = c.M, I = cfg.intermediateSize();
        TrainingContext.Scratch g = c.scratch;
        // MLP block: xOut = x2 + [postnorm](down(act(gate(h2)) * up(h2)))
        Tensor dMlp = c.dres;
        if (sandwich) {
            ops.fill(g.dpost, 0f);
            normBackward(g.dpost, c.dres, a.mlp, postFfnNorm, a.rstdMlp);
            dMlp = g.dpost;
        }
        ops.fill(g.ds, 0f);
        if (mlpHook != null) {
            mlpHook.backward(g.dh, dMlp, M); // g.dh is free until the norm's backward below
            down.backward(g.ds, g.dh, a.s, M);
        } else {
            down.backward(g.ds, dMlp, a.s, M);
        }
        ops.fill(g.dg, 0f);
        ops.fill(g.du, 0f);
        if (gelu) ops.gegluBackward(g.dg, g.du, g.ds, a.g, a.u);
        else ops.swigluBackward(g.dg, g.du, g.ds, a.g, a.u);
        ops.fill(g.dh, 0f);
        if (fused) {
            // gate_up_proj's output gradient is [dgate | dup], the layout its forward split
            ops.copyColumns(g.gateUp, 0, g.dg, 0, M, I);
            ops.copyColumns(g.gateUp, I, g.du, 0, M, I);
            gateUp.backward(g.dh, g.gateUp, a.h2, M);
        } else {
            gate.backward(g.dh, g.dg, a.h2, M);
            up.backward(g.dh, g.du, a.h2, M);
        }
        normBackward(c.dres, g.dh, a.x2, ffnNorm, a.rstd2);
        // attention block: x2 = xIn + [postnorm](o(attn(rope(q(h1)), rope(k(h1)), v(h1))))
        Tensor dAttnOut = c.dres;
        if (sandwich) {
            ops.fill(g.dpost, 0f);
            normBackward(g.dpost, c.dres, a.o, postAttnNorm, a.rstdO);
            dAttnOut = g.dpost;
        }
        ops.fill(g.datt, 0f);
        if (attnHook != null) {
            attnHook.backward(g.dh, dAttnOut, M);
            o.backward(g.datt, g.dh, a.att, M);
        } else {
            o.backward(g.datt, dAttnOut, a.att, M);
        }
        ops.fill(g.dq, 0f);
        ops.fill(g.dk, 0f);
        ops.fill(g.dv, 0f);
        AttentionShape s = c.attentionShape(prefixLength(), window);
        ops.attentionBackward(g.dq, g.dk, g.dv, prefixKeys == null ? null : prefixKeys.grad(),
                prefixValues == null ? null : prefixValues.grad(), g.datt, a.att, a.lse, a.q, a.k, a.v, pk(), pv(),
                null, c.kvStart, s, c.attentionWs(s));
        rope(c.model, g.dq, c.positions, M, cfg.numHeads(), true);
        rope(c.model, g.dk, c.positions, M, cfg.numKvHeads(), true);
        Tensor dq = g.dq, dk = g.dk;
        if (qNorm != null) {
            ops.fill(g.dqPre, 0f);
            ops.fill(g.dkPre, 0f);
            normBackward(g.dqPre, g.dq, a.qPre, qNorm, a.rstdQ);
            normBackward(g.dkPre, g.dk, a.kPre, kNorm, a.rstdK);
            dq = g.dqPre;
            dk = g.dkPre;
        }
        ops.fill(g.dh, 0f);
        if (fused) {
            int qDim = cfg.qDim(), kvDim = cfg.kvDim();
            ops.copyColumns(g.qkv, 0, dq, 0, M, qDim);
            ops.copyColumns(g.qkv, qDim, dk, 0, M, kvDim);
            ops.copyColumns(g.qkv, qDim + kvDim, g.dv, 0, M, kvDim);
            qkv.backward(g.dh, g.qkv, a.h1, M);
        } else {
            q.backward(g.dh, dq, a.h1, M);
            k.backward(g.dh, dk, a.h1, M);
            v.backward(g.dh, g.dv, a.h1, M);
        }
        normBackward(c.dres, g.dh, xIn, attnNorm, a.rstd1);
    }

    /** {@link Projection#packForDecoding} of all the layer's projections; the bytes added. */
    public long packForDecoding() {
        long bytes = 0;
        for (Proj p : projs) bytes += proj[p.ordinal()].packForDecoding();
        return bytes;
    }

    @Override
    public void close() {
        for (Proj x : projs) {
            Projection p = proj[x.ordinal()];
            try {
                p.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
