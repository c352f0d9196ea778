package io.tune4j.ops.cuda;

import static io.tune4j.runtime.CudaLib.*;

import io.tune4j.ops.Activation;
import io.tune4j.ops.AdamWParams;
import io.tune4j.ops.AttentionShape;
import io.tune4j.ops.LoraSlots;
import io.tune4j.ops.LossSum;
import io.tune4j.ops.MatmulPrecision;
import io.tune4j.ops.NativeStatus;
import io.tune4j.ops.OpChecks;
import io.tune4j.ops.Ops;
import io.tune4j.ops.RopeScaling;
import io.tune4j.ops.SamplingParams;
import io.tune4j.runtime.CudaRuntime;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * The CUDA backend: every call launches kernels of libtune4j_cuda on the default stream. Tensors
 * must live on the device ({@link #allocate}, {@link #upload}); results come back with
 * {@link #download}. Ops whose inputs are validated on the device (token ids, positions, q_start,
 * adapter slots, targets) do not wait for the check: its first failure stays on the device, later checking
 * kernels write nothing, and the next call that reads back (a step's loss, a sampled token, a download,
 * {@link #synchronize}) throws the exception the CPU backend would have thrown, naming the op that failed.
 * A training step so reads the device twice (its loss and its gradient norm), whatever its size.
 */
public final class CudaOps implements Ops {
    private static final long STREAM = 0L;
    private static CudaOps instance;

    private CudaOps() {}

    /** True when the library loaded and at least one GPU is visible. */
    public static boolean isAvailable() {
        return CudaRuntime.available();
    }

    /** Why CUDA cannot be used here, or null. */
    public static String unavailableReason() {
        return CudaRuntime.unavailableReason();
    }

    public static synchronized CudaOps instance() {
        if (!isAvailable()) throw new IllegalStateException("CUDA backend unavailable: " + unavailableReason());
        if (instance == null) instance = new CudaOps();
        return instance;
    }

    // ---- memory ----

    private final LongAdder allocations = new LongAdder();

    @Override
    public Device device() {
        return Device.CUDA;
    }

    @Override
    public long allocations() {
        return allocations.sum();
    }

    /** An uninitialised device tensor, freed on close. */
    @Override
    public Tensor allocate(DType dtype, long... shape) {
        long n = 1;
        for (long s : shape) n = Math.multiplyExact(n, s);
        long bytes = n * dtype.bytes();
        long addr = t4jc_malloc(bytes);
        if (addr == 0) {
            throw new OutOfMemoryError("device allocation of " + bytes + " bytes failed for tensor "
                    + Arrays.toString(shape) + ": " + t4jc_last_error());
        }
        allocations.increment();
        return Tensor.owning(addr, dtype, Device.CUDA, () -> t4jc_free(addr), shape);
    }

    /** A device copy of a host tensor. */
    public Tensor upload(Tensor host) {
        Tensor dev = allocate(host.dtype(), host.shape());
        try {
            copyToDevice(dev, host);
        } catch (RuntimeException e) {
            dev.close();
            throw e;
        }
        return dev;
    }

    /** A host copy of a device tensor. */
    public Tensor download(Tensor dev) {
        Tensor host = Tensor.allocate(dev.dtype(), dev.shape());
        try {
            copyToHost(host, dev);
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
        return host;
    }

    public void copyToDevice(Tensor dev, Tensor host) {
        requireSameSize(dev, host);
        check(t4jc_upload(d(dev), host.address(), host.bytes(), STREAM), "upload " + host);
    }

    public void copyToHost(Tensor host, Tensor dev) {
        requireSameSize(dev, host);
        check(t4jc_download(host.address(), d(dev), dev.bytes(), STREAM), "download ", dev);
        takePendingChecks("download");
    }

    @Override
    public void fill(Tensor dev, float value) {
        if (dev.dtype() != DType.F32) throw new IllegalArgumentException("fill of " + dev + ": expected F32");
        check(t4jc_fill(d(dev), value, dev.numel(), STREAM), "fill");
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        if (dst.bytes() != src.bytes()) {
            throw new IllegalArgumentException("copy of " + src + " into " + dst + ": sizes differ");
        }
        boolean hostDst = dst.device() == Device.CPU, hostSrc = src.device() == Device.CPU;
        if (hostDst && hostSrc) {
            dst.copyFrom(src);
        } else if (hostSrc) {
            copyToDevice(dst, src);
        } else if (hostDst) {
            copyToHost(dst, src);
        } else {
            check(t4jc_copy(d(dst), d(src), dst.bytes(), STREAM), "copy " + src);
        }
    }

    // Host values go up through one host buffer, grown to the largest write and kept, so that a step's
    // batch and a decoding step's tokens allocate nothing.
    private Tensor writeStage;

    private Tensor writeStage(Tensor dst, DType dtype, int n) {
        if (dst.dtype() != dtype || dst.numel() != n) {
            throw new IllegalArgumentException("write of " + n + " " + dtype + " values into " + dst);
        }
        if (writeStage == null || writeStage.numel() < n) {
            if (writeStage != null) writeStage.close();
            writeStage = Tensor.allocate(DType.I32, Math.max(n, 1024));
        }
        return writeStage;
    }

    @Override
    public synchronized void write(Tensor dst, int[] values) {
        Tensor st = writeStage(dst, DType.I32, values.length);
        st.ints().put(0, values);
        check(t4jc_upload(d(dst), st.address(), 4L * values.length, STREAM), "upload " + dst);
    }

    @Override
    public synchronized void write(Tensor dst, float[] values) {
        Tensor st = writeStage(dst, DType.F32, values.length);
        java.nio.IntBuffer bits = st.ints(); // the I32 buffer carries the floats' bits
        for (int i = 0; i < values.length; i++) bits.put(i, Float.floatToRawIntBits(values[i]));
        check(t4jc_upload(d(dst), st.address(), 4L * values.length, STREAM), "upload " + dst);
    }

    @Override
    public float[] readFloats(Tensor t) {
        try (Tensor host = download(t)) {
            return host.toFloatArray();
        }
    }

    @Override
    public int[] readInts(Tensor t) {
        try (Tensor host = download(t)) {
            return host.toIntArray();
        }
    }

    @Override
    public void synchronize() {
        check(t4jc_stream_sync(STREAM), "synchronize");
        takePendingChecks("synchronize");
    }

    private static void requireSameSize(Tensor dev, Tensor host) {
        if (host.device() != Device.CPU) throw new IllegalArgumentException(host + " is not a host tensor");
        if (dev.bytes() != host.bytes()) {
            throw new IllegalArgumentException("copy between " + host + " and " + dev + ": sizes differ");
        }
    }

    /** The device address of t (0 for null); a host tensor here is a caller bug, not a crash. */
    private static long d(Tensor t) {
        if (t == null) return 0L;
        if (t.device() != Device.CUDA) {
            throw new IllegalArgumentException(t + " lives on " + t.device() + "; CudaOps needs device tensors (upload it)");
        }
        return t.address();
    }

    /** {@link #check(int, String)} joining what and detail only on failure. */
    private static void check(int rc, String what, Object detail) {
        if (rc < 0) check(rc, what + detail);
    }

    private static int check(int rc, String what) {
        if (rc == -4 || rc == -5) {
            t4jc_take_failed_check(); // a CUDA error while reading the status block: the check it found is moot
            throw new IllegalStateException(what + ": " + t4jc_last_error());
        }
        if (rc < 0) {
            int failed = t4jc_take_failed_check();
            if (failed != 0) {
                checksPending = false;
                String found = failedCheck(failed);
                throw NativeStatus.exception(rc, found.startsWith(what) ? found : found + " (reported by " + what + ")");
            }
        }
        return NativeStatus.check(rc, what);
    }

    // What the device checks launched since the last read were given, to name a deferred failure: the latest
    // launch's limits, which within a step or a decoding step are one model's (vocabulary, positions, cache).
    // The backend runs on one thread at a time (the scheduler's or the trainer's), like the status block.
    private static boolean checksPending;
    private static int checkedVocab, checkedMaxPos, checkedKvCapacity, checkedSlots, checkedTargetsVocab;
    private static AttentionShape checkedAttention;

    private static String failedCheck(int check) {
        switch (check) {
            case T4JC_CHECK_EMBEDDING: return "embedding: token id outside [0, " + checkedVocab + ")";
            case T4JC_CHECK_ROPE: return "rope: position outside [0, " + checkedMaxPos + ")";
            case T4JC_CHECK_ATTENTION: return "attention " + checkedAttention + ": a query's q_start/kv_start leaves it no keys";
            case T4JC_CHECK_KV_WRITE: return "kv cache full (capacity " + checkedKvCapacity + ")";
            case T4JC_CHECK_LORA_SLOT: return "lora-multi: a row's adapter slot lies outside [-1, " + checkedSlots + ")";
            case T4JC_CHECK_TARGETS: return "cross-entropy: target outside [0, " + checkedTargetsVocab + ") and not -100";
            default: return "device check " + check;
        }
    }

    /** A launch whose inputs the device checks: its failure surfaces at the next read. */
    private static void checkLaunch(int rc, String what) {
        check(rc, what);
        checksPending = true;
    }

    /** After a call that read the device: what was pending has been read. */
    private static int checkRead(int rc, String what) {
        int r = check(rc, what);
        checksPending = false;
        return r;
    }

    /** A call that reads the device unless its input is empty (then it returns before reading). */
    private static int checkRead(int rc, String what, long n) {
        return n > 0 ? checkRead(rc, what) : check(rc, what);
    }

    /** Reads a failure left by a deferred check, if one may be waiting (one synchronisation). */
    private static void takePendingChecks(String what) {
        if (checksPending) checkRead(t4jc_take_status(STREAM), what);
    }

    @Override
    public String name() {
        return "cuda";
    }

    /** The CUDA GEMMs are fp32 for now: a BF16 request is answered with FP32. */
    @Override
    public MatmulPrecision setMatmulPrecision(MatmulPrecision precision) {
        return MatmulPrecision.FP32;
    }

    @Override
    public MatmulPrecision matmulPrecision() {
        return MatmulPrecision.FP32;
    }

    @Override
    public String toString() {
        return "cuda";
    }

    @Override
    public void linearForward(Tensor y, Tensor x, Tensor w, Tensor b) {
        int M = OpChecks.linear(Device.CUDA, y, x, w, b);
        check(t4jc_linear_fwd(d(y), d(x), d(w), d(b), M, (int) w.dim(1), (int) w.dim(0), STREAM), "linear");
    }

    @Override
    public void linearBackward(Tensor dx, Tensor dw, Tensor db, Tensor dy, Tensor x, Tensor w) {
        int M = OpChecks.linearBackward(Device.CUDA, dx, dw, db, dy, x, w);
        check(t4jc_linear_bwd(d(dx), d(dw), d(db), d(dy), d(x), d(w), M, (int) w.dim(1), (int) w.dim(0), STREAM),
                "linear backward");
    }

    @Override
    public long loraWorkspaceFloats(int M, int K, int N, int r, float dropout) {
        return t4jc_lora_ws_floats(M, K, N, r, dropout);
    }

    @Override
    public void loraForward(Tensor y, Tensor t, Tensor x, Tensor w, Tensor bias, Tensor la, Tensor lb, float scale,
                            float dropout, long seed, Tensor ws) {
        int M = OpChecks.lora(Device.CUDA, y, t, x, w, bias, la, lb);
        int N = (int) w.dim(0), K = (int) w.dim(1), r = (int) la.dim(0);
        OpChecks.workspace(Device.CUDA, "lora ws", ws, t4jc_lora_ws_floats(M, K, N, r, dropout));
        check(t4jc_lora_fwd(d(y), d(t), d(x), d(w), d(bias), d(la), d(lb), M, K, N, r, scale, dropout, seed, d(ws),
                STREAM), "lora");
    }

    @Override
    public void loraBackward(Tensor dx, Tensor dw, Tensor dbias, Tensor da, Tensor db, Tensor dy, Tensor x, Tensor t,
                             Tensor w, Tensor la, Tensor lb, float scale, float dropout, long seed, Tensor ws) {
        int M = OpChecks.loraBackward(Device.CUDA, dx, dw, dbias, da, db, dy, x, t, w, la, lb);
        int N = (int) w.dim(0), K = (int) w.dim(1), r = (int) la.dim(0);
        OpChecks.workspace(Device.CUDA, "lora ws", ws, t4jc_lora_ws_floats(M, K, N, r, dropout));
        check(t4jc_lora_bwd(d(dx), d(dw), d(dbias), d(da), d(db), d(dy), d(x), d(t), d(w), d(la), d(lb), M, K, N, r,
                scale, dropout, seed, d(ws), STREAM), "lora backward");
    }

    @Override
    public long doraNormWorkspaceFloats(int K, int N, int r) {
        return t4jc_dora_norm_ws_floats(K, N, r);
    }

    @Override
    public void doraNorm(Tensor norm, Tensor g, Tensor w, Tensor la, Tensor lb, Tensor m, float scale, Tensor ws) {
        OpChecks.doraNorm(Device.CUDA, norm, g, w, la, lb, m);
        int N = (int) w.dim(0), K = (int) w.dim(1), r = la == null ? 0 : (int) la.dim(0);
        OpChecks.doraNormWorkspace(Device.CUDA, ws, t4jc_dora_norm_ws_floats(K, N, r));
        check(t4jc_dora_norm(d(norm), d(g), d(w), d(la), d(lb), d(m), K, N, r, scale, d(ws), STREAM), "dora norm");
    }

    @Override
    public void doraScaleForward(Tensor y, Tensor u, Tensor g, Tensor bias) {
        int M = OpChecks.doraScale(Device.CUDA, y, u, g, bias);
        check(t4jc_dora_scale_fwd(d(y), d(u), d(g), d(bias), M, (int) g.numel(), STREAM), "dora scale");
    }

    @Override
    public void doraScaleBackward(Tensor du, Tensor dm, Tensor dbias, Tensor dy, Tensor u, Tensor g, Tensor norm) {
        int M = OpChecks.doraScaleBackward(Device.CUDA, du, dm, dbias, dy, u, g, norm);
        check(t4jc_dora_scale_bwd(d(du), d(dm), d(dbias), d(dy), d(u), d(g), d(norm), M, (int) g.numel(), STREAM),
                "dora scale backward");
    }

    @Override
    public long loraMultiWorkspaceFloats(int M, int K, int N, int maxRank) {
        return t4jc_lora_multi_ws_floats(M, K, N, maxRank);
    }

    @Override
    public void loraMultiForward(Tensor y, Tensor x, Tensor rowSlot, Tensor[] la, Tensor[] lb, int[] ranks,
                                 float[] scales, Tensor ws) {
        int M = OpChecks.loraMultiRows(Device.CUDA, y, x, rowSlot);
        int K = M == 0 ? 0 : (int) (x.numel() / M), N = M == 0 ? 0 : (int) (y.numel() / M);
        int n = OpChecks.loraMulti(Device.CUDA, la, lb, ranks, scales, K, N);
        int maxR = LoraSlots.maxRank(ranks);
        OpChecks.loraMultiWorkspace(Device.CUDA, ws, M, t4jc_lora_multi_ws_floats(M, K, N, maxR));
        if (n > T4JC_LORA_MULTI_MAX_SLOTS) {
            throw new IllegalArgumentException("lora-multi: " + n + " adapter slots, the CUDA op takes at most "
                    + T4JC_LORA_MULTI_MAX_SLOTS);
        }
        long[] pa = new long[n], pb = new long[n];
        for (int s = 0; s < n; s++) {
            if (ranks[s] == 0) continue;
            pa[s] = d(la[s]);
            pb[s] = d(lb[s]);
        }
        checkedSlots = n;
        checkLaunch(t4jc_lora_multi_fwd(d(y), d(x), d(rowSlot), M, K, N, pa, pb, ranks, scales, n, maxR, d(ws),
                STREAM), "lora-multi");
    }

    @Override
    public void adapterForward(Tensor y, Tensor h, Tensor act, Tensor x, Tensor down, Tensor downBias, Tensor up,
                               Tensor upBias, Activation fn) {
        int M = OpChecks.adapter(Device.CUDA, y, h, act, x, down, downBias, up, upBias);
        check(t4jc_adapter_fwd(d(y), d(h), d(act), d(x), d(down), d(downBias), d(up), d(upBias), M, (int) down.dim(1),
                (int) down.dim(0), fn.code, STREAM), "adapter");
    }

    @Override
    public void adapterBackward(Tensor dx, Tensor dDown, Tensor dDownBias, Tensor dUp, Tensor dUpBias, Tensor dy,
                                Tensor x, Tensor h, Tensor act, Tensor down, Tensor up, Activation fn, Tensor ws) {
        int M = OpChecks.adapterBackward(Device.CUDA, dx, dDown, dDownBias, dUp, dUpBias, dy, x, h, act, down, up, ws);
        check(t4jc_adapter_bwd(d(dx), d(dDown), d(dDownBias), d(dUp), d(dUpBias), d(dy), d(x), d(h), d(act), d(down),
                d(up), M, (int) down.dim(1), (int) down.dim(0), fn.code, d(ws), STREAM), "adapter backward");
    }

    @Override
    public void embeddingForward(Tensor out, Tensor ids, Tensor table) {
        OpChecks.embedding(Device.CUDA, out, ids, table);
        int V = (int) table.dim(0);
        checkedVocab = V;
        checkLaunch(t4jc_embedding_fwd(d(out), d(ids), d(table), (int) ids.numel(), V, (int) table.dim(1), STREAM),
                "embedding");
    }

    @Override
    public void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids) {
        OpChecks.embeddingBackward(Device.CUDA, dTable, dOut, ids);
        int V = (int) dTable.dim(0);
        checkedVocab = V;
        checkLaunch(t4jc_embedding_bwd(d(dTable), d(dOut), d(ids), (int) ids.numel(), V, (int) dTable.dim(1), STREAM),
                "embedding backward");
    }

    @Override
    public void rmsnormForward(Tensor y, Tensor rstd, Tensor x, Tensor w, float eps, float weightOffset) {
        int M = OpChecks.rmsnorm(Device.CUDA, y, rstd, x, w, weightOffset);
        check(t4jc_rmsnorm_fwd(d(y), d(rstd), d(x), d(w), M, (int) w.numel(), eps, weightOffset, STREAM), "rmsnorm");
    }

    @Override
    public void rmsnormBackward(Tensor dx, Tensor dw, Tensor dy, Tensor x, Tensor w, Tensor rstd, float weightOffset) {
        int M = OpChecks.rmsnormBackward(Device.CUDA, dx, dw, dy, x, w, rstd, weightOffset);
        check(t4jc_rmsnorm_bwd(d(dx), d(dw), d(dy), d(x), d(w), d(rstd), M, (int) w.numel(), weightOffset, STREAM),
                "rmsnorm backward");
    }

    /** h = x + r, y = rmsnorm(h) w in one pass (h may alias x or r); d = w's size, x [M,d]. */
    public void addRmsnormForward(Tensor h, Tensor y, Tensor rstd, Tensor x, Tensor r, Tensor w, float eps) {
        int M = OpChecks.addRmsnorm(Device.CUDA, h, y, rstd, x, r, w);
        check(t4jc_add_rmsnorm_fwd(d(h), d(y), d(rstd), d(x), d(r), d(w), M, (int) w.numel(), eps, STREAM), "add+rmsnorm");
    }

    @Override
    public void ropeTable(Tensor cos, Tensor sin, int maxPos, int hd, RopeScaling s) {
        OpChecks.ropeTable(Device.CUDA, cos, sin, maxPos, hd);
        check(t4jc_rope_table(d(cos), d(sin), maxPos, hd, s.theta(), s.type().code, s.factor(), s.lowFreqFactor(),
                s.highFreqFactor(), s.originalMaxPositions(), STREAM), "rope table");
    }

    @Override
    public void ropeForward(Tensor x, Tensor pos, Tensor cos, Tensor sin) {
        int nh = OpChecks.rope(Device.CUDA, x, pos, cos, sin), maxPos = (int) cos.dim(0);
        checkedMaxPos = maxPos;
        checkLaunch(t4jc_rope_fwd(d(x), d(pos), d(cos), d(sin), (int) pos.numel(), nh, 2 * (int) cos.dim(1), maxPos,
                STREAM), "rope");
    }

    @Override
    public void ropeBackward(Tensor dx, Tensor pos, Tensor cos, Tensor sin) {
        int nh = OpChecks.ropeBackward(Device.CUDA, dx, pos, cos, sin), maxPos = (int) cos.dim(0);
        checkedMaxPos = maxPos;
        checkLaunch(t4jc_rope_bwd(d(dx), d(pos), d(cos), d(sin), (int) pos.numel(), nh, 2 * (int) cos.dim(1), maxPos,
                STREAM), "rope backward");
    }

    @Override
    public long attentionWorkspaceFloats(AttentionShape s) {
        return t4jc_attention_ws_floats(s.B(), s.Tq(), s.Tk(), s.P(), s.nh(), s.nkv(), s.hd());
    }

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv,
                                 Tensor qStart, Tensor kvStart, AttentionShape s, Tensor ws) {
        OpChecks.attention(Device.CUDA, out, lse, q, k, v, pk, pv, qStart, kvStart, s, ws, attentionWorkspaceFloats(s));
        checkedAttention = s;
        checkLaunch(t4jc_attention_fwd(d(out), d(lse), d(q), d(k), d(v), d(pk), d(pv), d(qStart), d(kvStart), s.B(),
                s.Tq(), s.Tk(), s.P(), s.nh(), s.nkv(), s.hd(), s.window(), s.scale(), s.softcap(), d(ws), STREAM),
                "attention");
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dpk, Tensor dpv, Tensor dout, Tensor out,
                                  Tensor lse, Tensor q, Tensor k, Tensor v, Tensor pk, Tensor pv, Tensor qStart,
                                  Tensor kvStart, AttentionShape s, Tensor ws) {
        OpChecks.attentionBackward(Device.CUDA, dq, dk, dv, dpk, dpv, dout, out, lse, q, k, v, pk, pv, qStart, kvStart,
                s, ws, attentionWorkspaceFloats(s));
        checkedAttention = s;
        checkLaunch(t4jc_attention_bwd(d(dq), d(dk), d(dv), d(dpk), d(dpv), d(dout), d(out), d(lse), d(q), d(k), d(v),
                d(pk), d(pv), d(qStart), d(kvStart), s.B(), s.Tq(), s.Tk(), s.P(), s.nh(), s.nkv(), s.hd(), s.window(),
                s.scale(), s.softcap(), d(ws), STREAM), "attention backward");
    }

    @Override
    public void kvWrite(Tensor cache, Tensor src, Tensor qStart) {
        int Tq = OpChecks.kvWrite(Device.CUDA, cache, src, qStart);
        int B = (int) qStart.numel(), Tmax = (int) cache.dim(1), width = (int) (cache.numel() / ((long) B * Tmax));
        checkedKvCapacity = Tmax;
        checkLaunch(t4jc_kv_write(d(cache), d(src), d(qStart), B, Tq, Tmax, width, STREAM), "kv write");
    }

    @Override
    public void copyColumns(Tensor dst, int dstCol, Tensor src, int srcCol, int rows, int cols) {
        OpChecks.copyColumns(Device.CUDA, dst, dstCol, src, srcCol, rows, cols);
        check(t4jc_copy_columns(d(dst), dst.dim(1), dstCol, d(src), src.dim(1), srcCol, rows, cols, STREAM),
                "copyColumns");
    }

    @Override
    public void tanhForward(Tensor y, Tensor x) {
        check(t4jc_tanh_fwd(d(y), d(x), OpChecks.tanh(Device.CUDA, y, x), STREAM), "tanh");
    }

    @Override
    public void tanhBackward(Tensor dx, Tensor dy, Tensor y) {
        long n = OpChecks.tanhBackward(Device.CUDA, dx, dy, y);
        if (dx != null) check(t4jc_tanh_bwd(d(dx), d(dy), d(y), n, STREAM), "tanh backward");
    }

    @Override
    public void softcapForward(Tensor y, Tensor x, float cap) {
        check(t4jc_softcap_fwd(d(y), d(x), OpChecks.softcap(Device.CUDA, y, x, cap), y.numel(), STREAM), "softcap");
    }

    @Override
    public void softcapBackward(Tensor dx, Tensor dy, Tensor y, float cap) {
        long n = OpChecks.softcapBackward(Device.CUDA, dx, dy, y, cap);
        if (dx == null) return;
        check(t4jc_softcap_bwd(d(dx), d(dy), d(y), cap, n, STREAM), "softcap backward");
    }

    @Override
    public void gegluForward(Tensor out, Tensor g, Tensor u) {
        check(t4jc_geglu_fwd(d(out), d(g), d(u), OpChecks.geglu(Device.CUDA, out, g, u), STREAM), "geglu");
    }

    @Override
    public void gegluBackward(Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u) {
        long n = OpChecks.gegluBackward(Device.CUDA, dg, du, dout, g, u);
        check(t4jc_geglu_bwd(d(dg), d(du), d(dout), d(g), d(u), n, STREAM), "geglu backward");
    }

    @Override
    public void swigluForward(Tensor out, Tensor g, Tensor u) {
        check(t4jc_swiglu_fwd(d(out), d(g), d(u), OpChecks.swiglu(Device.CUDA, out, g, u), STREAM), "swiglu");
    }

    @Override
    public void swigluBackward(Tensor dg, Tensor du, Tensor dout, Tensor g, Tensor u) {
        long n = OpChecks.swigluBackward(Device.CUDA, dg, du, dout, g, u);
        check(t4jc_swiglu_bwd(d(dg), d(du), d(dout), d(g), d(u), n, STREAM), "swiglu backward");
    }

    @Override
    public void add(Tensor y, Tensor x1, Tensor x2) {
        check(t4jc_add(d(y), d(x1), d(x2), OpChecks.add(Device.CUDA, y, x1, x2), STREAM), "add");
    }

    @Override
    public void axpy(Tensor y, float alpha, Tensor x) {
        check(t4jc_axpy(d(y), alpha, d(x), OpChecks.axpy(Device.CUDA, y, x), STREAM), "axpy");
    }

    @Override
    public int crossEntropy(Tensor losses, Tensor logits, Tensor targets, float gradScale) {
        int V = OpChecks.crossEntropy(Device.CUDA, losses, logits, targets);
        checkedTargetsVocab = V;
        return checkRead(t4jc_cross_entropy(d(losses), d(logits), d(targets), (int) targets.numel(), V, gradScale,
                STREAM), "cross-entropy", targets.numel());
    }

    @Override
    public double[] lmHeadCrossEntropy(Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets, float softcap,
                                       float gradScale, Tensor ws, int blockRows) {
        int M = OpChecks.lmHeadCrossEntropy(Device.CUDA, dh, dw, h, w, targets, softcap, ws, blockRows);
        int V = (int) w.dim(0);
        double[] out = new double[2];
        checkedTargetsVocab = V;
        checkRead(t4jc_lmhead_cross_entropy(out, d(dh), d(dw), d(h), d(w), d(targets), M, (int) w.dim(1), V, softcap,
                gradScale, d(ws), blockRows, STREAM), "cross-entropy");
        return out;
    }

    @Override
    public LossSum newLossSum() {
        return new DeviceLossSum(allocate(DType.I32, 4));
    }

    @Override
    public void lmHeadCrossEntropyInto(LossSum acc, Tensor dh, Tensor dw, Tensor h, Tensor w, Tensor targets,
                                       float softcap, float gradScale, Tensor ws, int blockRows) {
        if (!(acc instanceof DeviceLossSum dev)) {
            Ops.super.lmHeadCrossEntropyInto(acc, dh, dw, h, w, targets, softcap, gradScale, ws, blockRows);
            return;
        }
        int M = OpChecks.lmHeadCrossEntropy(Device.CUDA, dh, dw, h, w, targets, softcap, ws, blockRows);
        int V = (int) w.dim(0);
        checkedTargetsVocab = V;
        checkLaunch(t4jc_lmhead_cross_entropy_acc(dev.sums.address(), d(dh), d(dw), d(h), d(w), d(targets), M,
                (int) w.dim(1), V, softcap, gradScale, d(ws), blockRows, STREAM), "cross-entropy");
    }

    /** The sums live in two device doubles; take() is the step's one read of its loss. */
    private static final class DeviceLossSum extends LossSum {
        final Tensor sums; // 2 doubles as 4 I32
        private final double[] read = new double[2];

        DeviceLossSum(Tensor sums) {
            this.sums = sums;
            check(t4jc_memset(sums.address(), 0, 16, STREAM), "loss sum");
        }

        @Override
        public double[] take() {
            double[] host = super.take();
            checkRead(t4jc_loss_take(read, sums.address(), STREAM), "loss");
            return new double[] {host[0] + read[0], host[1] + read[1]};
        }

        @Override
        public void close() {
            sums.close();
        }
    }

    @Override
    public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, AdamWParams h, int step) {
        long n = OpChecks.adamw(Device.CUDA, p, g, m, v);
        check(t4jc_adamw(d(p), d(g), d(m), d(v), n, h.lr(), h.beta1(), h.beta2(), h.eps(), h.weightDecay(), step,
                STREAM), "adamw");
    }

    @Override
    public double sumOfSquares(Tensor x) {
        long n = OpChecks.sumOfSquares(Device.CUDA, x);
        double[] out = new double[1];
        checkRead(t4jc_sumsq(out, d(x), n, STREAM), "sum of squares", n);
        return out[0];
    }

    // the gradient norm of a step: one kernel over every gradient and one 8-byte read, instead of a
    // synchronising read per tensor; the pointer table is uploaded again only when the tensors change
    private Tensor sumsqTable;  // device I32 pairs: count pointers, then count lengths (8 bytes each)
    private Tensor sumsqStage;  // host copy of the table
    private Tensor sumsqOut;    // device: one double
    private Tensor sumsqRead;   // host: one double
    private long[] sumsqHeld = new long[0];

    @Override
    public synchronized double sumOfSquares(java.util.List<Tensor> xs) {
        int count = xs.size();
        if (count == 0) return 0;
        if (count > 65535) return Ops.super.sumOfSquares(xs); // the kernel's grid.y limit
        long[] table = new long[2 * count];
        long maxN = 0;
        for (int i = 0; i < count; i++) {
            Tensor x = xs.get(i);
            long n = OpChecks.sumOfSquares(Device.CUDA, x);
            table[i] = d(x);
            table[count + i] = n;
            maxN = Math.max(maxN, n);
        }
        if (!Arrays.equals(table, sumsqHeld)) {
            if (sumsqTable == null || sumsqTable.numel() < 4L * count) {
                if (sumsqTable != null) {
                    sumsqTable.close();
                    sumsqStage.close();
                }
                sumsqTable = allocate(DType.I32, 4L * count);
                sumsqStage = Tensor.allocate(DType.I32, 4L * count);
            }
            java.nio.IntBuffer ints = sumsqStage.ints();
            for (long v : table) ints.put((int) v).put((int) (v >>> 32)); // little-endian int64
            copyToDevice(sumsqTable, sumsqStage);
            sumsqHeld = table;
        }
        if (sumsqOut == null) {
            sumsqOut = allocate(DType.I32, 2);
            sumsqRead = Tensor.allocate(DType.I32, 2);
        }
        check(t4jc_memset(d(sumsqOut), 0, 8, STREAM), "sum of squares");
        long ptrs = d(sumsqTable);
        check(t4jc_sumsq_multi(d(sumsqOut), ptrs, ptrs + 8L * count, count, maxN, STREAM), "sum of squares");
        copyToHost(sumsqRead, sumsqOut);
        java.nio.IntBuffer r = sumsqRead.ints();
        return Double.longBitsToDouble((r.get(0) & 0xffffffffL) | ((long) r.get(1) << 32));
    }

    @Override
    public void scale(Tensor x, float s) {
        check(t4jc_scale(d(x), s, OpChecks.scale(Device.CUDA, x), STREAM), "scale");
    }

    @Override
    public int sample(Tensor logits, SamplingParams p, Tensor recent, int nRecent, float coin, Tensor ws) {
        int V = OpChecks.sample(Device.CUDA, logits, recent, nRecent, ws);
        return checkRead(t4jc_sample(d(logits), V, p.temperature(), p.topK(), p.topP(), p.repetitionPenalty(), d(recent),
                nRecent, coin, d(ws), STREAM), "sample");
    }

    @Override
    public int argmax(Tensor x) {
        int n = OpChecks.argmax(Device.CUDA, x);
        return checkRead(t4jc_argmax(d(x), n, STREAM), "argmax", n);
    }
}
