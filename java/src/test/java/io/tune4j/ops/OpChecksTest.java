package io.tune4j.ops;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.ops.cuda.CudaOps;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;
import java.lang.reflect.Constructor;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The CUDA side of the checks, on a machine without a GPU: the device tensors are wrapped fake addresses,
 * which is safe because every check throws before anything could dereference them. Each argument is tried
 * undersized, on the host and with the wrong dtype; the well-sized set passes.
 */
class OpChecksTest {
    private static final Device CUDA = Device.CUDA;
    private long nextAddress = 1L << 40;

    private Tensor f32(long... shape) {
        return fake(DType.F32, CUDA, shape);
    }

    private Tensor i32(long... shape) {
        return fake(DType.I32, CUDA, shape);
    }

    private Tensor fake(DType dtype, Device device, long... shape) {
        Tensor t = Tensor.wrap(nextAddress, dtype, device, shape);
        nextAddress += t.bytes() + 4096;  // apart, so no two look like overlapping memory
        return t;
    }

    /** good passes in the call; one element short, a host copy and the other dtype are refused, naming it. */
    private void argument(String named, Tensor good, Function<Tensor, Executable> callWith) {
        assertDoesNotThrow(callWith.apply(good), named + " of the right size");
        DType other = good.dtype() == DType.F32 ? DType.I32 : DType.F32;
        refused(named, callWith.apply(fake(good.dtype(), CUDA, good.numel() - 1)));
        refused(named, callWith.apply(fake(good.dtype(), Device.CPU, good.shape())));
        refused(named, callWith.apply(fake(other, CUDA, good.shape())));
    }

    private static void refused(String named, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(named + ":"), "expected a message naming " + named + ", got: " + e.getMessage());
    }

    @Test
    void linear() {
        int M = 4, K = 8, N = 6;
        Tensor y = f32(M, N), x = f32(M, K), w = f32(N, K), b = f32(N);
        argument("linear y", y, t -> () -> OpChecks.linear(CUDA, t, x, w, b, M, K, N));
        argument("linear x", x, t -> () -> OpChecks.linear(CUDA, y, t, w, b, M, K, N));
        argument("linear w", w, t -> () -> OpChecks.linear(CUDA, y, x, t, b, M, K, N));
        argument("linear b", b, t -> () -> OpChecks.linear(CUDA, y, x, w, t, M, K, N));
        assertDoesNotThrow(() -> OpChecks.linear(CUDA, y, x, w, null, M, K, N));  // no bias
        refused("linear M", () -> OpChecks.linear(CUDA, y, x, w, b, -1, K, N));

        Tensor dx = f32(M, K), dw = f32(N, K), dy = f32(M, N);
        argument("linear dw", dw, t -> () -> OpChecks.linearBackward(CUDA, dx, t, null, dy, x, w, M, K, N));
        argument("linear dy", dy, t -> () -> OpChecks.linearBackward(CUDA, dx, dw, null, t, x, w, M, K, N));
    }

    @Test
    void loraForward() {
        int M = 4, K = 8, N = 6, r = 2;
        long wsFloats = 12;
        Tensor y = f32(M, N), t = f32(M, r), x = f32(M, K), w = f32(N, K), a = f32(r, K), b = f32(N, r), ws = f32(wsFloats);
        argument("lora y", y, z -> () -> OpChecks.lora(CUDA, z, t, x, w, null, a, b, M, K, N, r, ws, wsFloats));
        argument("lora t", t, z -> () -> OpChecks.lora(CUDA, y, z, x, w, null, a, b, M, K, N, r, ws, wsFloats));
        argument("lora x", x, z -> () -> OpChecks.lora(CUDA, y, t, z, w, null, a, b, M, K, N, r, ws, wsFloats));
        argument("lora A", a, z -> () -> OpChecks.lora(CUDA, y, t, x, w, null, z, b, M, K, N, r, ws, wsFloats));
        argument("lora B", b, z -> () -> OpChecks.lora(CUDA, y, t, x, w, null, a, z, M, K, N, r, ws, wsFloats));
        argument("lora ws", ws, z -> () -> OpChecks.lora(CUDA, y, t, x, w, null, a, b, M, K, N, r, z, wsFloats));
        refused("lora r", () -> OpChecks.lora(CUDA, y, t, x, w, null, a, b, M, K, N, -2, ws, wsFloats));
    }

    @Test
    void attentionForward() {
        AttentionShape s = new AttentionShape(2, 3, 5, 1, 4, 2, 8);
        long wsFloats = 100;
        Tensor out = f32(2, 3, 4, 8), lse = f32(2, 3, 4), q = f32(2, 3, 4, 8), k = f32(2, 5, 2, 8), v = f32(2, 5, 2, 8);
        Tensor pk = f32(1, 2, 8), pv = f32(1, 2, 8), qStart = i32(2), kvStart = i32(6), ws = f32(wsFloats);
        argument("attention out", out, z -> () -> OpChecks.attention(CUDA, z, lse, q, k, v, pk, pv, qStart, kvStart, s, ws, wsFloats));
        argument("attention lse", lse, z -> () -> OpChecks.attention(CUDA, out, z, q, k, v, pk, pv, qStart, kvStart, s, ws, wsFloats));
        argument("attention q", q, z -> () -> OpChecks.attention(CUDA, out, lse, z, k, v, pk, pv, qStart, kvStart, s, ws, wsFloats));
        argument("attention k", k, z -> () -> OpChecks.attention(CUDA, out, lse, q, z, v, pk, pv, qStart, kvStart, s, ws, wsFloats));
        argument("attention v", v, z -> () -> OpChecks.attention(CUDA, out, lse, q, k, z, pk, pv, qStart, kvStart, s, ws, wsFloats));
        argument("attention prefix keys", pk,
                z -> () -> OpChecks.attention(CUDA, out, lse, q, k, v, z, pv, qStart, kvStart, s, ws, wsFloats));
        argument("attention q_start", qStart,
                z -> () -> OpChecks.attention(CUDA, out, lse, q, k, v, pk, pv, z, kvStart, s, ws, wsFloats));
        argument("attention kv_start", kvStart,
                z -> () -> OpChecks.attention(CUDA, out, lse, q, k, v, pk, pv, qStart, z, s, ws, wsFloats));
        argument("attention ws", ws, z -> () -> OpChecks.attention(CUDA, out, lse, q, k, v, pk, pv, qStart, kvStart, s, z, wsFloats));
        refused("attention", () -> OpChecks.attention(CUDA, out, lse, q, k, v, null, null, qStart, kvStart, s, ws, wsFloats));
    }

    @Test
    void rmsnorm() {
        int M = 4, d = 8;
        Tensor y = f32(M, d), rstd = f32(M), x = f32(M, d), w = f32(d);
        argument("rmsnorm y", y, z -> () -> OpChecks.rmsnorm(CUDA, z, rstd, x, w, M, d, 0f));
        argument("rmsnorm rstd", rstd, z -> () -> OpChecks.rmsnorm(CUDA, y, z, x, w, M, d, 0f));
        argument("rmsnorm x", x, z -> () -> OpChecks.rmsnorm(CUDA, y, rstd, z, w, M, d, 0f));
        argument("rmsnorm w", w, z -> () -> OpChecks.rmsnorm(CUDA, y, rstd, x, z, M, d, 1f));
        refused("rmsnorm", () -> OpChecks.rmsnorm(CUDA, y, rstd, x, w, M, d, Float.NaN));
    }

    @Test
    void embedding() {
        int M = 4, V = 10, d = 8;
        Tensor out = f32(M, d), ids = i32(M), table = f32(V, d);
        argument("embedding out", out, z -> () -> OpChecks.embedding(CUDA, z, ids, table, M, V, d));
        argument("embedding ids", ids, z -> () -> OpChecks.embedding(CUDA, out, z, table, M, V, d));
        argument("embedding table", table, z -> () -> OpChecks.embedding(CUDA, out, ids, z, M, V, d));
        argument("embedding dTable", table, z -> () -> OpChecks.embeddingBackward(CUDA, z, out, ids, M, V, d));
    }

    @Test
    void kvWrite() {
        int B = 2, Tq = 3, Tmax = 16, width = 8;
        Tensor cache = f32(B, Tmax, width), src = f32(B, Tq, width), qStart = i32(B);
        argument("kv cache", cache, z -> () -> OpChecks.kvWrite(CUDA, z, src, qStart, B, Tq, Tmax, width));
        argument("kv source", src, z -> () -> OpChecks.kvWrite(CUDA, cache, z, qStart, B, Tq, Tmax, width));
        argument("kv q_start", qStart, z -> () -> OpChecks.kvWrite(CUDA, cache, src, z, B, Tq, Tmax, width));
        refused("kv write width", () -> OpChecks.kvWrite(CUDA, cache, src, qStart, B, Tq, Tmax, -8));
    }

    @Test
    void adamw() {
        long n = 96;
        Tensor p = f32(n), g = f32(n), m = f32(n), v = f32(n);
        argument("adamw p", p, z -> () -> OpChecks.adamw(CUDA, z, g, m, v, n));
        argument("adamw g", g, z -> () -> OpChecks.adamw(CUDA, p, z, m, v, n));
        argument("adamw m", m, z -> () -> OpChecks.adamw(CUDA, p, g, z, v, n));
        argument("adamw v", v, z -> () -> OpChecks.adamw(CUDA, p, g, m, z, n));
    }

    @Test
    void loraMultiSlots() {
        int M = 3, K = 8, N = 6;
        Tensor y = f32(M, N), x = f32(M, K), rows = i32(M), a = f32(2, K), b = f32(N, 2);
        int[] ranks = {2, 0};
        float[] scales = {1f, 1f};
        Function<Tensor, Executable> withA = z -> () -> OpChecks.loraMulti(CUDA, y, x, rows, new Tensor[] {z, null},
                new Tensor[] {b, null}, ranks, scales, M, K, N);
        assertDoesNotThrow(withA.apply(a));
        refused("lora-multi", withA.apply(f32(2 * K - 1)));  // LoraSlots words the size per slot
        refused("lora-multi A[0]", withA.apply(fake(DType.F32, Device.CPU, 2, K)));
        refused("lora-multi A[0]", withA.apply(fake(DType.I32, CUDA, 2, K)));
        argument("lora-multi row slots", rows, z -> () -> OpChecks.loraMulti(CUDA, y, x, z, new Tensor[] {a, null},
                new Tensor[] {b, null}, ranks, scales, M, K, N));
        refused("lora-multi ws", () -> OpChecks.loraMultiWorkspace(CUDA, f32(5), M, 6));
        refused("lora-multi ws", () -> OpChecks.loraMultiWorkspace(CUDA, null, M, 6));
    }

    /**
     * CudaOps itself refuses before its first native call, so these run without the CUDA library: the
     * constructor does nothing, and only the ops that size a workspace natively would need the library first.
     */
    @Test
    void cudaOpsChecksBeforeLaunching() throws Exception {
        Constructor<CudaOps> c = CudaOps.class.getDeclaredConstructor();
        c.setAccessible(true);
        Ops cuda = c.newInstance();
        Tensor x = f32(4, 8), w = f32(6, 8), small = f32(3), host = fake(DType.F32, Device.CPU, 4, 6);
        refused("linear y", () -> cuda.linearForward(small, x, w, null, 4, 8, 6));
        refused("linear y", () -> cuda.linearForward(host, x, w, null, 4, 8, 6));
        refused("rmsnorm rstd", () -> cuda.rmsnormForward(x, small, x, f32(8), 4, 8, 1e-5f));
        refused("embedding ids", () -> cuda.embeddingForward(x, f32(4), w, 4, 6, 8));
        refused("kv cache", () -> cuda.kvWrite(small, x, i32(1), 1, 4, 4, 8));
        refused("adamw v", () -> cuda.adamw(x, x, x, small, 32, null, 1));
        refused("swiglu out", () -> cuda.swigluForward(small, x, x, 32));
        refused("cross-entropy targets", () -> cuda.crossEntropy(f32(4), x, f32(4), 4, 8, 1f));
    }
}
