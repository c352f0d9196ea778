package io.tune4j.ops;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * a size off what its shapes imply, on the host and with the wrong dtype; the well-shaped set passes.
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
        placed(named, good, callWith);
        refused(named, callWith.apply(fake(good.dtype(), CUDA, good.numel() - 1)));
    }

    /**
     * For a tensor the op takes a dimension from: a host copy and the other dtype are refused naming it; one
     * element short it defines another size, which the argument named {@code mismatched} then contradicts.
     */
    private void defining(String named, String mismatched, Tensor good, Function<Tensor, Executable> callWith) {
        placed(named, good, callWith);
        refused(mismatched, callWith.apply(fake(good.dtype(), CUDA, good.numel() - 1)));
    }

    private void placed(String named, Tensor good, Function<Tensor, Executable> callWith) {
        assertDoesNotThrow(callWith.apply(good), named + " of the right size");
        DType other = good.dtype() == DType.F32 ? DType.I32 : DType.F32;
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
        argument("linear y", y, t -> () -> OpChecks.linear(CUDA, t, x, w, b));
        argument("linear x", x, t -> () -> OpChecks.linear(CUDA, y, t, w, b));
        argument("linear w", w, t -> () -> OpChecks.linear(CUDA, y, x, t, b));  // short, it is not 2-D
        argument("linear b", b, t -> () -> OpChecks.linear(CUDA, y, x, w, t));
        assertDoesNotThrow(() -> OpChecks.linear(CUDA, y, x, w, null));  // no bias
        assertEquals(M, OpChecks.linear(CUDA, y, x.view(2, 2, K), w, b));  // any leading shape of whole rows
        refused("linear y", () -> OpChecks.linear(CUDA, f32(M + 1, N), x, w, b));  // more rows than x's

        Tensor dx = f32(M, K), dw = f32(N, K), dy = f32(M, N);
        argument("linear dw", dw, t -> () -> OpChecks.linearBackward(CUDA, dx, t, null, dy, x, w));
        argument("linear dy", dy, t -> () -> OpChecks.linearBackward(CUDA, dx, dw, null, t, x, w));
        argument("linear dx", dx, t -> () -> OpChecks.linearBackward(CUDA, t, dw, null, dy, x, w));
    }

    @Test
    void shapeMismatchesAreRefused() {
        // x's rows are 7 wide, w's 8: no whole number of rows
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OpChecks.linear(CUDA, f32(4, 6), f32(4, 7), f32(6, 8), null));
        assertTrue(e.getMessage().startsWith("linear x:") && e.getMessage().contains("[4, 7]")
                && e.getMessage().contains("[6, 8]"), e.getMessage());
        // x [2,16] holds 4 rows of w's width 8, so y must hold 4 rows too
        refused("linear y", () -> OpChecks.linear(CUDA, f32(2, 6), f32(2, 16), f32(6, 8), null));
        refused("linear w", () -> OpChecks.linear(CUDA, f32(4, 6), f32(4, 8), f32(48), null));  // 1-D weights
        refused("lora A", () -> OpChecks.lora(CUDA, f32(4, 6), f32(4, 2), f32(4, 8), f32(6, 8), null, f32(2, 7),
                f32(6, 2)));
        refused("lora B", () -> OpChecks.lora(CUDA, f32(4, 6), f32(4, 2), f32(4, 8), f32(6, 8), null, f32(2, 8),
                f32(6, 3)));
        refused("rmsnorm x", () -> OpChecks.rmsnorm(CUDA, f32(4, 8), f32(4), f32(4, 9), f32(8), 0f));
        refused("add b", () -> OpChecks.add(CUDA, f32(8), f32(8), f32(9)));
        refused("embedding out", () -> OpChecks.embedding(CUDA, f32(4, 7), i32(4), f32(10, 8)));
        refused("cross-entropy logits", () -> OpChecks.crossEntropy(CUDA, f32(4), f32(37), i32(4)));
        refused("rope x", () -> OpChecks.rope(CUDA, f32(3, 2, 7), i32(3), f32(16, 4), f32(16, 4)));
    }

    @Test
    void loraForward() {
        int M = 4, K = 8, N = 6, r = 2;
        Tensor y = f32(M, N), t = f32(M, r), x = f32(M, K), w = f32(N, K), a = f32(r, K), b = f32(N, r), ws = f32(12);
        argument("lora y", y, z -> () -> OpChecks.lora(CUDA, z, t, x, w, null, a, b));
        argument("lora t", t, z -> () -> OpChecks.lora(CUDA, y, z, x, w, null, a, b));
        argument("lora x", x, z -> () -> OpChecks.lora(CUDA, y, t, z, w, null, a, b));
        argument("lora A", a, z -> () -> OpChecks.lora(CUDA, y, t, x, w, null, z, b));
        argument("lora B", b, z -> () -> OpChecks.lora(CUDA, y, t, x, w, null, a, z));
        argument("lora ws", ws, z -> () -> OpChecks.workspace(CUDA, "lora ws", z, 12));
        assertDoesNotThrow(() -> OpChecks.workspace(CUDA, "lora ws", f32(20), 12));  // scratch may be bigger
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
        argument("rmsnorm y", y, z -> () -> OpChecks.rmsnorm(CUDA, z, rstd, x, w, 0f));
        argument("rmsnorm rstd", rstd, z -> () -> OpChecks.rmsnorm(CUDA, y, z, x, w, 0f));
        argument("rmsnorm x", x, z -> () -> OpChecks.rmsnorm(CUDA, y, rstd, z, w, 0f));
        defining("rmsnorm w", "rmsnorm x", w, z -> () -> OpChecks.rmsnorm(CUDA, y, rstd, x, z, 1f));
        refused("rmsnorm", () -> OpChecks.rmsnorm(CUDA, y, rstd, x, w, Float.NaN));
    }

    @Test
    void embedding() {
        int M = 4, V = 10, d = 8;
        Tensor out = f32(M, d), ids = i32(M), table = f32(V, d);
        argument("embedding out", out, z -> () -> OpChecks.embedding(CUDA, z, ids, table));
        defining("embedding ids", "embedding out", ids, z -> () -> OpChecks.embedding(CUDA, out, z, table));
        argument("embedding table", table, z -> () -> OpChecks.embedding(CUDA, out, ids, z));
        argument("embedding dTable", table, z -> () -> OpChecks.embeddingBackward(CUDA, z, out, ids));
    }

    @Test
    void kvWrite() {
        int B = 2, Tq = 3, Tmax = 16, width = 8;
        Tensor cache = f32(B, Tmax, width), src = f32(B, Tq, width), qStart = i32(B);
        assertEquals(Tq, OpChecks.kvWrite(CUDA, cache, src, qStart));
        argument("kv cache", cache, z -> () -> OpChecks.kvWrite(CUDA, z, src, qStart));
        argument("kv source", src, z -> () -> OpChecks.kvWrite(CUDA, cache, z, qStart));
        defining("kv q_start", "kv cache", qStart, z -> () -> OpChecks.kvWrite(CUDA, cache, src, z));
        refused("kv source", () -> OpChecks.kvWrite(CUDA, cache, f32(B, Tq, width + 1), qStart));
    }

    @Test
    void adamw() {
        long n = 96;
        Tensor p = f32(n), g = f32(n), m = f32(n), v = f32(n);
        defining("adamw p", "adamw g", p, z -> () -> OpChecks.adamw(CUDA, z, g, m, v));
        argument("adamw g", g, z -> () -> OpChecks.adamw(CUDA, p, z, m, v));
        argument("adamw m", m, z -> () -> OpChecks.adamw(CUDA, p, g, z, v));
        argument("adamw v", v, z -> () -> OpChecks.adamw(CUDA, p, g, m, z));
    }

    @Test
    void loraMultiSlots() {
        int M = 3, K = 8, N = 6;
        Tensor y = f32(M, N), x = f32(M, K), rows = i32(M), a = f32(2, K), b = f32(N, 2);
        int[] ranks = {2, 0};
        float[] scales = {1f, 1f};
        assertEquals(M, OpChecks.loraMultiRows(CUDA, y, x, rows));
        Function<Tensor, Executable> withA = z -> () -> OpChecks.loraMulti(CUDA, new Tensor[] {z, null},
                new Tensor[] {b, null}, ranks, scales, K, N);
        assertDoesNotThrow(withA.apply(a));
        refused("lora-multi", withA.apply(f32(2 * K - 1)));  // LoraSlots words the size per slot
        refused("lora-multi A[0]", withA.apply(fake(DType.F32, Device.CPU, 2, K)));
        refused("lora-multi A[0]", withA.apply(fake(DType.I32, CUDA, 2, K)));
        placed("lora-multi row slots", rows, z -> () -> OpChecks.loraMultiRows(CUDA, y, x, z));
        refused("lora-multi", () -> OpChecks.loraMultiRows(CUDA, y, x, i32(M + 1)));  // not whole rows
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
        refused("linear y", () -> cuda.linearForward(small, x, w, null));
        refused("linear y", () -> cuda.linearForward(host, x, w, null));
        refused("linear x", () -> cuda.linearForward(f32(4, 6), f32(4, 7), w, null));
        refused("rmsnorm rstd", () -> cuda.rmsnormForward(x, small, x, f32(8), 1e-5f));
        refused("embedding ids", () -> cuda.embeddingForward(f32(4, 8), f32(4), f32(6, 8)));
        refused("kv cache", () -> cuda.kvWrite(small, x, i32(1)));
        refused("adamw v", () -> cuda.adamw(x, x, x, small, null, 1));
        refused("swiglu g", () -> cuda.swigluForward(small, x, x));
        refused("cross-entropy targets", () -> cuda.crossEntropy(f32(4), x, f32(4), 1f));
    }
}
