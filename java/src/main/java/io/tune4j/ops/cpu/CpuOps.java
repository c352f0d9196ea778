package io.tune4j.ops.cpu;

import static io.tune4j.runtime.NativeLib.*;

import io.tune4j.ops.Activation;
import io.tune4j.ops.AdamWParams;
import io.tune4j.ops.AttentionShape;
import io.tune4j.ops.LoraSlots;
import io.tune4j.ops.MatmulPrecision;
import io.tune4j.ops.NativeStatus;
import io.tune4j.ops.OpChecks;
import io.tune4j.ops.Ops;
import io.tune4j.ops.RopeScaling;
import io.tune4j.ops.SamplingParams;
import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;
import java.util.concurrent.atomic.LongAdder;

/** The CPU backend: every call is one JNI call into libtune4j_native (OpenMP + OpenBLAS). */
public final class CpuOps implements Ops {
    public static final CpuOps INSTANCE = new CpuOps();

    private CpuOps() {
        loadNative();
    }

    /** Initialises the generated NativeLib, whose preset loads OpenBLAS before libtune4j_native. */
    private static void loadNative() {
        try {
            Class.forName(NativeLib.class.getName(), true, NativeLib.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("the build did not generate " + NativeLib.class.getName(), e);
        }
    }

    private static long a(Tensor t) {
        return t == null ? 0L : t.address();
    }

    @Override
    public String name() {
        return "cpu";
    }

    // ---- memory: host tensors, so every crossing is a plain copy ----
    private final LongAdder allocations = new LongAdder();

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Tensor allocate(DType dtype, long... shape) {
        Tensor t = Tensor.allocate(dtype, shape);
        allocations.increment();
        return t;
    }

    @Override
    public void fill(Tensor t, float value) {
        t.fill(value);
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        dst.copyFrom(src);
    }

    @Override
    public void write(Tensor dst, int[] values) {
        requireLength(dst, values.length);
        dst.ints().put(values);
    }

    @Override
    public void write(Tensor dst, float[] values) {
        requireLength(dst, values.length);
        dst.floats().put(values);
    }

    private static void requireLength(Tensor dst, int n) {
        if (dst.numel() != n) throw new IllegalArgumentException("write of " + n + " values into " + dst);
    }

    @Override
    public float[] readFloats(Tensor t) {
        return t.toFloatArray();
    }

    @Override
    public int[] readInts(Tensor t) {
        return t.toIntArray();
    }

    @Override
    public void synchronize() {
        // every CPU op has finished when its call returns
    }

    @Override
    public long allocations() {
        return allocations.sum();
    }

    @Override
    public MatmulPrecision setMatmulPrecision(MatmulPrecision precision) {
        return precisionOf(t4j_set_matmul_precision(precision == MatmulPrecision.BF16 ? 1 : 0));
    }

    @Override
    public MatmulPrecision matmulPrecision() {
        return precisionOf(t4j_matmul_precision());
    }

    /** Whether this processor runs BF16 products (AMX tiles the OS granted, or AVX512-BF16). */
    public static boolean bf16Supported() {
        loadNative();
        return t4j_bf16_matmul_supported() != 0;
    }

    /** What runs BF16 products here: "AMX tiles", "AVX512-BF16" or "none". */
    public static String bf16Unit() {
        loadNative();
        return switch (t4j_bf16_matmul_supported()) {
            case 2 -> "AMX tiles";
            case 1 -> "AVX512-BF16";
            default -> "none";
        };
    }

    /**
     * What multiplies bf16 decoding weights here ({@code --weights bf16}): the bf16 products where
     * there are any, else AVX2 or AVX-512 FMAs on weights widened to fp32 in registers. Every CPU
     * tune4j runs on (x86-64-v3) has one of these.
     */
    public static String bf16WeightsUnit() {
        return t4j_bf16_matmul_supported() != 0 ? bf16Unit() : "fp32 FMAs on widened bf16";
    }

    private static MatmulPrecision precisionOf(int code) {
        return code == 1 ? MatmulPrecision.BF16 : MatmulPrecision.FP32;
    }

    @Override
    public void linearForward(Tensor y, Tensor x, Tensor w, Tensor b) {
        int M = OpChecks.linear(Device.CPU, y, x, w, b);
        t4j_linear_fwd(a(y), a(x), a(w), a(b), M, (int) w.dim(1), (int) w.dim(0));
    }

    @Override
    public Tensor packWeightsBf16(Tensor w) {
        OpChecks.packWeights(Device.CPU, w);
        int N = (int) w.dim(0), K = (int) w.dim(1);
        long elems = t4j_linear_packed_bf16_elems(K, N);
        if (elems <= 0) return null;
        Tensor p = Tensor.allocate(DType.BF16, elems);
        t4j_linear_pack_bf16(p.address(), a(w), K, N);
        return p;
    }

    @Override
    public void linearForwardPacked(Tensor y, Tensor x, Tensor packed, Tensor b, int K, int N) {
        int M = OpChecks.linearPacked(Device.CPU, y, x, packed, b, K, N, t4j_linear_packed_bf16_elems(K, N));
        NativeStatus.check(t4j_linear_fwd_packed_bf16(a(y), a(x), packed.address(), a(b), M, K, N),
                "linear from bf16 packed weights " + M + "x" + K + " -> " + N);
    }

    @Override
    public void linearBackward(Tensor dx, Tensor dw, Tensor db, Tensor dy, Tensor x, Tensor w) {
        int M = OpChecks.linearBackward(Device.CPU, dx, dw, db, dy, x, w);
        t4j_linear_bwd(a(dx), a(dw), a(db), a(dy), a(x), a(w), M, (int) w.dim(1), (int) w.dim(0));
    }

    @Override
    public long loraWorkspaceFloats(int M, int K, int N, int r, float dropout) {
        return t4j_lora_ws_floats(M, K, N, r, dropout);
    }

    @Override
    public void loraForward(Tensor y, Tensor t, Tensor x, Tensor w, Tensor bias, Tensor la, Tensor lb,
                            float scale, float dropout, long seed, Tensor ws) {
        int M = OpChecks.lora(Device.CPU, y, t, x, w, bias, la, lb);
        int N = (int) w.dim(0), K = (int) w.dim(1), r = (int) la.dim(0);
        OpChecks.workspace(Device.CPU, "lora ws", ws, t4j_lora_ws_floats(M, K, N, r, dropout));
        t4j_lora_fwd(a(y), a(t), a(x), a(w), a(bias), a(la), a(lb), M, K, N, r, scale, dropout, seed, a(ws));
    }

    @Override
    public void loraBackward(Tensor dx, Tensor dw, Tensor dbias, Tensor da, Tensor db, Tensor dy, Tensor x, Tensor t,
                             Tensor w, Tensor la, Tensor lb, float scale, float dropout, long seed, Tensor ws) {
        int M = OpChecks.loraBackward(Device.CPU, dx, dw, dbias, da, db, dy, x, t, w, la, lb);
        int N = (int) w.dim(0), K = (int) w.dim(1), r = (int) la.dim(0);
        OpChecks.workspace(Device.CPU, "lora ws", ws, t4j_lora_ws_floats(M, K, N, r, dropout));
        t4j_lora_bwd(a(dx), a(dw), a(dbias), a(da), a(db), a(dy), a(x), a(t), a(w), a(la), a(lb), M, K, N, r,
                scale, dropout, seed, a(ws));
    }

    @Override
    public long doraNormWorkspaceFloats(int K, int N, int r) {
        return t4j_dora_norm_ws_floats(K, N, r);
    }

    @Override
    public void doraNorm(Tensor norm, Tensor g, Tensor w, Tensor la, Tensor lb, Tensor m, float scale, Tensor ws) {
        OpChecks.doraNorm(Device.CPU, norm, g, w, la, lb, m);
        int N = (int) w.dim(0), K = (int) w.dim(1), r = la == null ? 0 : (int) la.dim(0);
        OpChecks.doraNormWorkspace(Device.CPU, ws, t4j_dora_norm_ws_floats(K, N, r));
        t4j_dora_norm(a(norm), a(g), a(w), a(la), a(lb), a(m), K, N, r, scale, a(ws));
    }

    @Override
    public void doraScaleForward(Tensor y, Tensor u, Tensor g, Tensor bias) {
        int M = OpChecks.doraScale(Device.CPU, y, u, g, bias);
        t4j_dora_scale_fwd(a(y), a(u), a(g), a(bias), M, (int) g.numel());
    }

    @Override
    public void doraScaleBackward(Tensor du, Tensor dm, Tensor dbias, Tensor dy, Tensor u, Tensor g, Tensor norm) {
        int M = OpChecks.doraScaleBackward(Device.CPU, du, dm, dbias, dy, u, g, norm);
        t4j_dora_scale_bwd(a(du), a(dm), a(dbias), a(dy), a(u), a(g), a(norm), M, (int) g.numel());
    }

    @Override
    public long loraMultiWorkspaceFloats(int M, int K, int N, int maxRank) {
        return t4j_lora_multi_ws_floats(M, K, N, maxRank);
    }

    @Override
    public void loraMultiForward(Tensor y, Tensor x, Tensor rowSlot, Tensor[] la, Tensor[] lb, int[] ranks,
                                 float[] scales, Tensor ws) {
        int M = OpChecks.loraMultiRows(Device.CPU, y, x, rowSlot);
        int K = M == 0 ? 0 : (int) (x.numel() / M), N = M == 0 ? 0 : (int) (y.numel() / M);
        int n = OpChecks.loraMulti(Device.CPU, la, lb, ranks, scales, K, N);
        int maxR = LoraSlots.maxRank(ranks);
        OpChecks.loraMultiWorkspace(Device.CPU, ws, M, t4j_lora_multi_ws_floats(M, K, N, maxR));
        long[] pa = new long[n], pb = new long[n];
        for (int s = 0; s < n; s++) {
            if (ranks[s] == 0) continue;
            pa[s] = la[s].address();
            pb[s] = lb[s].address();
        }
        NativeStatus.check(t4j_lora_multi_fwd(a(y), a(x), a(rowSlot), M, K, N, pa, pb, ranks, scales, n, maxR, a(ws)),
                "lora-multi: a row's adapter slot lies outside [-1, ", n, ")");
    }

    @Override
    public void adapterForward(Tensor y, Tensor h, Tensor act, Tensor x, Tensor down, Tensor downBias, Tensor up,
                               Tensor upBias, Activation fn) {
        int M = OpChecks.adapter(Device.CPU, y, h, act, x, down, downBias, up, upBias);
        t4j_adapter_fwd(a(y), a(h), a(act), a(x), a(down), a(downBias), a(up), a(upBias), M, (int) down.dim(1),
                (int) down.dim(0), fn.code);
    }

    @Override
    public void adapterBackward(Tensor dx, Tensor dDown, Tensor dDownBias, Tensor dUp, Tensor dUpBias, Tensor dy,
                                Tensor x, Tensor h, Tensor act, Tensor down, Tensor up, Activation fn, Tensor ws) {
        int M = OpChecks.adapterBackward(Device.CPU, dx, dDown, dDownBias, dUp, dUpBias, dy, x, h, act, down, up, ws);
        t4j_adapter_bwd(a(dx), a(dDown), a(dDownBias), a(dUp), a(dUpBias), a(dy), a(x), a(h), a(act), a(down),
                a(up), M, (int) down.dim(1), (int) down.dim(0), fn.code, a(ws));
    }

    @Override
    public void embeddingForward(Tensor out, Tensor ids, Tensor table) {
        OpChecks.embedding(Device.CPU, out, ids, table);
        int V = (int) table.dim(0);
        NativeStatus.check(t4j_embedding_fwd(a(out), a(ids), a(table), (int) ids.numel(), V, (int) table.dim(1)),
                "embedding: token id outside [0, ", V, ")");
    }

    @Override
    public void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids) {
        OpChecks.embeddingBackward(Device.CPU, dTable, dOut, ids);
        int V = (int) dTable.dim(0);
        NativeStatus.check(t4j_embedding_bwd(a(dTable), a(dOut), a(ids), (int) ids.numel(), V, (int) dTable.dim(1)),
                "embedding: token id outside [0, ", V, ")");
    }

    @Override
    public void rmsnormForward(Tensor y, Tensor rstd, Tensor x, Tensor w, float eps, float weightOffset) {
        int M = OpChecks.rmsnorm(Device.CPU, y, rstd, x, w, weightOffset);
        t4j_rmsnorm_fwd(a(y), a(rstd), a(x), a(w), M, (int) w.numel(), eps, weightOffset);
    }

    @Override
    public void rmsnormBackward(Tensor dx, Tensor dw, Tensor dy, Tensor x, Tensor w, Tensor rstd, float weightOffset) {
        int M = OpChecks.rmsnormBackward(Device.CPU, dx, dw, dy, x, w, rstd, weightOffset);
        t4j_rmsnorm_bwd(a(dx), a(dw), a(dy), a(x), a(w), a(rstd), M, (int) w.numel(), weightOffset);
    }

    @Override
    public void ropeTable(Tensor cos, Tensor sin, int maxPos, int hd, RopeScaling s) {
        OpChecks.ropeTable(Device.CPU, cos, sin, maxPos, hd);
        t4j_rope_table(a(cos), a(sin), maxPos, hd, s.theta(), s.type().code, s.factor(), s.lowFreqFactor(),
                s.highFreqFactor(), s.originalMaxPositions());
    }

    @Override
    public void ropeForward(Tensor x, Tensor pos, Tensor cos, Tensor sin) {
        int nh = OpChecks.rope(Device.CPU, x, pos, cos, sin), maxPos = (int) cos.dim(0);
        NativeStatus.check(t4j_rope_fwd(a(x), a(pos), a(cos), a(sin), (int) pos.numel(), nh, 2 * (int) cos.dim(1), maxPos),
                "rope: position outside [0, ", maxPos, ")");
    }

    @Override
    public void ropeBackward(Tensor dx, Tensor pos, Tensor cos, Tensor sin) {
        int nh = OpChecks.ropeBackward(Device.CPU, dx, pos, cos, sin), maxPos = (int) cos.dim(0);
        NativeStatus.check(t4j_rope_bwd(a(dx), a(pos), a(cos), a(sin), (int) pos.numel(), nh, 2 * (int) cos.dim(1), maxPos),
                "rope: position outside [0, ", maxPos, ")");
    }

    @Override
    public long attentionWorkspaceFloats(AttentionShape s) {
        return t4j_attention_ws_floats(s.B(), s.Tq(), s.Tk(), s.P(), s.nh(), s.nkv(), s.hd());
    }

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv,
                                 Tensor qStart, Tensor kvStart, AttentionShape s, Tensor ws) {
        OpChecks.attention(Device.CPU, out, lse, q, k, v, pk, pv, qStart, kvStart, s, ws, attentionWorkspaceFloats(s));
        NativeStatus.check(t4j_attention_fwd(a(out), a(lse), a(q), a(k), a(v), a(pk), a(pv), a(qStart), a(kvStart),
                s.B(), s.Tq(), s.Tk(), s.P(), s.nh(), s.nkv(), s.hd(), s.window(), s.scale(), s.softcap(), a(ws)),
                "attention ", s, "");
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dpk, Tensor dpv, Tensor dout, Tensor out,
                                  Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv, Tensor qStart,
                                  Tensor kvStart, AttentionShape s, Tensor ws) {
        OpChecks.attentionBackward(Device.CPU, dq, dk, dv, dpk, dpv, dout, out, lse, q, k, v, pk, pv, qStart, kvStart, s,
                ws, attentionWorkspaceFloats(s));
        NativeStatus.check(t4j_attention_bwd(a(dq), a(dk), a(dv), a(dpk), a(dpv), a(dout), a(out), a(lse), a(q), a(k),
                a(v), a(pk), a(pv), a(qStart), a(kvStart), s.B(), s.Tq(), s.Tk(), s.P(), s.nh(), s.nkv(), s.hd(),
                s.window(), s.scale(), s.softcap(), a(ws)), "attention backward ", s, "");
    }

    @Override
    public void kvWrite(Tensor cache, Tensor src, Tensor qStart) {
        int Tq = OpChecks.kvWrite(Device.CPU, cache, src, qStart);
        int B = (int) qStart.numel(), Tmax = (int) cache.dim(1), width = (int) (cache.numel() / ((long) B * Tmax));
        NativeStatus.check(t4j_kv_write(a(cache), a(src), a(qStart), B, Tq, Tmax, width), "kv cache full (capacity ", Tmax, ")");
    }

    @Override
    public void copyColumns(Tensor dst, int dstCol, Tensor src, int srcCol, int rows, int cols) {
        OpChecks.copyColumns(Device.CPU, dst, dstCol, src, srcCol, rows, cols);
        NativeStatus.check(t4j_copy_columns(a(dst), dst.dim(1), dstCol, a(src), src.dim(1), srcCol, rows, cols),
                "copyColumns");
    }

    @Override
    public void swigluForward(Tensor out, Tensor g, Tensor u) {
        t4j_swiglu_fwd(a(out), a(g), a(u), OpChecks.swiglu(Device.CPU, out, g, u));
    }

    @Override
    public void swigluBackward(Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u) {
        t4j_swiglu_bwd(a(dg), a(du), a(dout), a(g), a(u), OpChecks.swigluBackward(Device.CPU, dg, du, dout, g, u));
    }

    @Override
    public void gegluForward(Tensor out, Tensor g, Tensor u) {
        t4j_geglu_fwd(a(out), a(g), a(u), OpChecks.geglu(Device.CPU, out, g, u));
    }

    @Override
    public void gegluBackward(Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u) {
        t4j_geglu_bwd(a(dg), a(du), a(dout), a(g), a(u), OpChecks.gegluBackward(Device.CPU, dg, du, dout, g, u));
    }

    @Override
    public void softcapForward(Tensor y, Tensor x, float cap) {
        NativeStatus.check(t4j_softcap_fwd(a(y), a(x), OpChecks.softcap(Device.CPU, y, x, cap), y.numel()), "softcap");
    }

    @Override
    public void softcapBackward(Tensor dx, Tensor dy, Tensor y, float cap) {
        long n = OpChecks.softcapBackward(Device.CPU, dx, dy, y, cap);
        if (dx == null) return;
        NativeStatus.check(t4j_softcap_bwd(a(dx), a(dy), a(y), cap, n), "softcap backward");
    }

    @Override
    public void tanhForward(Tensor y, Tensor x) {
        t4j_tanh_fwd(a(y), a(x), OpChecks.tanh(Device.CPU, y, x));
    }

    @Override
    public void tanhBackward(Tensor dx, Tensor dy, Tensor y) {
        long n = OpChecks.tanhBackward(Device.CPU, dx, dy, y);
        if (dx != null) t4j_tanh_bwd(a(dx), a(dy), a(y), n);
    }

    @Override
    public void add(Tensor y, Tensor x1, Tensor x2) {
        t4j_add(a(y), a(x1), a(x2), OpChecks.add(Device.CPU, y, x1, x2));
    }

    @Override
    public void axpy(Tensor y, float alpha, Tensor x) {
        t4j_axpy(a(y), alpha, a(x), OpChecks.axpy(Device.CPU, y, x));
    }

    @Override
    public int crossEntropy(Tensor losses, Tensor logits, Tensor targets, float gradScale) {
        int V = OpChecks.crossEntropy(Device.CPU, losses, logits, targets);
        return NativeStatus.check(t4j_cross_entropy(a(losses), a(logits), a(targets), (int) targets.numel(), V, gradScale),
                "cross-entropy: target outside [0, ", V, ") and not -100");
    }

    @Override
    public double[] lmHeadCrossEntropy(Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets, float softcap,
                                       float gradScale, Tensor ws, int blockRows) {
        int M = OpChecks.lmHeadCrossEntropy(Device.CPU, dh, dw, h, w, targets, softcap, ws, blockRows);
        int V = (int) w.dim(0);
        double[] out = new double[2];
        NativeStatus.check(t4j_lmhead_cross_entropy(out, a(dh), a(dw), a(h), a(w), a(targets), M, (int) w.dim(1), V,
                softcap, gradScale, a(ws), blockRows), "cross-entropy: target outside [0, ", V, ") and not -100");
        return out;
    }

    @Override
    public int lmHeadSequenceLogProbs(double[] logp, int[] counts, Tensor dh, Tensor dw, Tensor h, Tensor w,
                                      Tensor targets, float[] seqWeight, int B, float softcap, Tensor ws,
                                      int blockRows) {
        int T = OpChecks.lmHeadSequenceLogProbs(Device.CPU, logp, counts, dh, dw, h, w, targets, seqWeight, B, softcap,
                ws, blockRows);
        int V = (int) w.dim(0);
        return NativeStatus.check(t4j_lmhead_sequence_logprobs(logp, counts, a(dh), a(dw), a(h), a(w), a(targets),
                seqWeight, B, T, (int) w.dim(1), V, softcap, a(ws), blockRows),
                "sequence log-probs: target outside [0, ", V, ") and not -100");
    }

    @Override
    public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, AdamWParams h, int step) {
        long n = OpChecks.adamw(Device.CPU, p, g, m, v);
        t4j_adamw(a(p), a(g), a(m), a(v), n, h.lr(), h.beta1(), h.beta2(), h.eps(), h.weightDecay(), step);
    }

    @Override
    public double sumOfSquares(Tensor x) {
        return t4j_sumsq(a(x), OpChecks.sumOfSquares(Device.CPU, x));
    }

    @Override
    public void scale(Tensor x, float s) {
        t4j_scale(a(x), s, OpChecks.scale(Device.CPU, x));
    }

    @Override
    public int sample(Tensor logits, SamplingParams p, Tensor recent, int nRecent, float coin, Tensor ws) {
        int V = OpChecks.sample(Device.CPU, logits, recent, nRecent, ws);
        return t4j_sample(a(logits), V, p.temperature(), p.topK(), p.topP(), p.repetitionPenalty(), a(recent), nRecent,
                coin, a(ws));
    }

    @Override
    public int argmax(Tensor x) {
        return t4j_argmax(a(x), OpChecks.argmax(Device.CPU, x));
    }
}
