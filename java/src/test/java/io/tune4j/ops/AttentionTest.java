package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import java.util.Arrays;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AttentionTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    /** One attention call: shape, per-sequence query offsets (null: 0) and per-query first visible key (null: 0). */
    record Case(String name, AttentionShape s, int[] qStart, int[] kvStart) {}

    /** kv_start for packed rows: each row of Tq tokens split into documents starting at the given offsets. */
    static int[] packed(int Tq, int[]... docStarts) {
        int[] out = new int[docStarts.length * Tq];
        for (int b = 0; b < docStarts.length; b++) {
            for (int i = 0; i < Tq; i++) {
                int lo = 0;
                for (int st : docStarts[b]) if (st <= i) lo = st;
                out[b * Tq + i] = lo;
            }
        }
        return out;
    }

    static Case[] cases() {
        return new Case[] {
            new Case("mha", new AttentionShape(2, 13, 13, 0, 3, 3, 16), null, null),
            new Case("gqa2+prefix, crosses a key tile", new AttentionShape(2, 70, 70, 5, 4, 2, 10), null, null),
            new Case("gqa4 hd6", new AttentionShape(1, 33, 33, 0, 8, 2, 6), null, null),
            new Case("decode vs cache + prefix", new AttentionShape(3, 1, 100, 3, 4, 1, 8), new int[] {0, 37, 99}, null),
            new Case("decode, gqa2, hd 50, documents + prefix", new AttentionShape(3, 1, 64, 2, 6, 3, 50),
                    new int[] {5, 30, 63}, new int[] {0, 20, 40}),
            new Case("two decode queries, hd 24", new AttentionShape(2, 2, 40, 0, 4, 2, 24), new int[] {3, 30},
                    new int[] {0, 0, 10, 10}),
            new Case("chunked prefill vs cache", new AttentionShape(3, 5, 80, 0, 6, 3, 12), new int[] {0, 11, 75}, null),
            new Case("packed documents + prefix", new AttentionShape(2, 40, 40, 2, 4, 2, 16), null,
                    packed(40, new int[] {0, 17}, new int[] {0, 9, 30})),
            new Case("packed documents, four (sequence, kv head) tasks", new AttentionShape(2, 40, 40, 0, 4, 2, 16), null,
                    packed(40, new int[] {0, 17}, new int[] {0, 9, 30})),
            new Case("packed decode chunk", new AttentionShape(2, 6, 30, 0, 2, 1, 10), new int[] {4, 20},
                    new int[] {0, 0, 6, 6, 6, 6, 18, 18, 18, 23, 23, 23}),
            new Case("mqa, 16 heads per kv head", new AttentionShape(2, 10, 10, 0, 16, 1, 8), null, null),
            new Case("hd128 two query tiles", new AttentionShape(1, 130, 130, 0, 2, 2, 128), null, null),
            new Case("training shape", new AttentionShape(4, 256, 256, 0, 9, 3, 64), null, null),
            // sliding windows: narrower than a key tile, across tiles, with documents, a prefix and a cache
            new Case("sliding window 5", new AttentionShape(2, 40, 40, 0, 4, 2, 16, 5), null, null),
            new Case("sliding window 70 over 150 rows", new AttentionShape(1, 150, 150, 0, 6, 2, 32, 70), null, null),
            new Case("sliding window + documents + prefix", new AttentionShape(2, 40, 40, 2, 4, 2, 16, 12), null,
                    packed(40, new int[] {0, 17}, new int[] {0, 9, 30})),
            new Case("sliding window, one-pass backward", new AttentionShape(4, 90, 90, 0, 4, 2, 16, 33), null, null),
            new Case("sliding window decode vs cache", new AttentionShape(3, 1, 100, 0, 4, 1, 8, 16),
                    new int[] {0, 37, 99}, null),
            new Case("sliding window chunked prefill", new AttentionShape(3, 5, 80, 1, 6, 3, 12, 9),
                    new int[] {0, 11, 75}, null),
            // a softmax scale of the model's (Gemma: query_pre_attn_scalar^-0.5) and logit soft-capping (Gemma 2),
            // caps small enough that tanh bends the scores: every schedule, GQA, windows, documents, prefix, cache
            new Case("scale 0.9, gqa2+prefix, crosses a key tile", new AttentionShape(2, 70, 70, 5, 4, 2, 10, 0, 0.9f, 0f),
                    null, null),
            new Case("softcap 2, scale 0.5, gqa2", new AttentionShape(2, 40, 40, 0, 4, 2, 16, 0, 0.5f, 2f), null, null),
            new Case("softcap + window + documents + prefix", new AttentionShape(2, 40, 40, 2, 4, 2, 16, 12, 0.3f, 3f),
                    null, packed(40, new int[] {0, 17}, new int[] {0, 9, 30})),
            new Case("softcap, one-pass backward, window", new AttentionShape(4, 90, 90, 0, 4, 2, 16, 33, 0.35f, 2f),
                    null, null),
            new Case("softcap hd128, Gemma scale 96^-0.5, two query tiles",
                    new AttentionShape(1, 130, 130, 0, 2, 2, 128, 0, (float) (1 / Math.sqrt(96)), 1.5f), null, null),
            new Case("softcap decode vs cache + prefix", new AttentionShape(3, 1, 100, 3, 4, 1, 8, 0, 0.6f, 1.5f),
                    new int[] {0, 37, 99}, null),
            new Case("softcap window decode, documents", new AttentionShape(3, 1, 64, 2, 6, 3, 50, 20, 0.2f, 2.5f),
                    new int[] {5, 30, 63}, new int[] {0, 20, 40}),
            new Case("softcap two decode queries", new AttentionShape(2, 2, 40, 0, 4, 2, 24, 0, 0.3f, 1f),
                    new int[] {3, 30}, new int[] {0, 0, 10, 10}),
            new Case("softcap window chunked prefill", new AttentionShape(3, 5, 80, 1, 6, 3, 12, 9, 0.4f, 2.5f),
                    new int[] {0, 11, 75}, null),
            new Case("softcap mqa, 16 heads per kv head", new AttentionShape(2, 10, 10, 0, 16, 1, 8, 0, 0.5f, 1f),
                    null, null),
        };
    }

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchLibtorch(Ops ops) {
        Rand rnd = new Rand();
        for (Case c : cases()) check(ops, rnd, c);
    }

    /**
     * The CPU backward walks each (sequence, KV head) in one pass when there are at least two such
     * tasks a thread and no prefix, else in two passes. On two threads the cases take both, whatever
     * the machine's core count is.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void bothBackwardSchedulesMatchLibtorchOnTwoThreads(Ops ops) {
        int threads = NativeLib.t4j_get_num_threads();
        try {
            NativeLib.t4j_set_num_threads(2);
            Rand rnd = new Rand();
            for (Case c : cases()) check(ops, rnd, c);
        } finally {
            NativeLib.t4j_set_num_threads(threads);
        }
    }

    private static void check(Ops ops, Rand rnd, Case c) {
        AttentionShape s = c.s();
        int B = s.B(), Tq = s.Tq(), Tk = s.Tk(), P = s.P(), nh = s.nh(), nkv = s.nkv(), hd = s.hd(), G = nh / nkv;
        String what = "attention " + c.name() + " " + s + " " + rnd;
        try (Arena arena = new Arena()) {
            float[] kf = rnd.normal(B * Tk * nkv * hd, 1.0), vf = rnd.normal(B * Tk * nkv * hd, 1.0);
            // cache rows past each sequence's last query hold garbage for the kernel (NaN: any read shows)
            // and zeros for the reference
            float[] kn = kf.clone(), vn = vf.clone();
            for (int b = 0; b < B; b++) {
                int used = (c.qStart() == null ? 0 : c.qStart()[b]) + Tq;
                for (int j = used; j < Tk; j++) {
                    for (int x = 0; x < nkv * hd; x++) {
                        int idx = (b * Tk + j) * nkv * hd + x;
                        kn[idx] = Float.NaN;
                        vn[idx] = Float.NaN;
                        kf[idx] = 0f;
                        vf[idx] = 0f;
                    }
                }
            }
            Tensor q = arena.adopt(rnd.tensor(1.0, B, Tq, nh, hd));
            Tensor k = arena.adopt(Tensor.of(kn, B, Tk, nkv, hd));
            Tensor v = arena.adopt(Tensor.of(vn, B, Tk, nkv, hd));
            Tensor pk = P > 0 ? arena.adopt(rnd.tensor(1.0, P, nkv, hd)) : null;
            Tensor pv = P > 0 ? arena.adopt(rnd.tensor(1.0, P, nkv, hd)) : null;
            Tensor qStart = c.qStart() == null ? null : arena.adopt(Tensor.ofInts(c.qStart(), B));
            Tensor kvStart = c.kvStart() == null ? null : arena.adopt(Tensor.ofInts(c.kvStart(), B, Tq));
            Tensor out = arena.f32(B, Tq, nh, hd), lse = arena.f32(B, Tq, nh);
            out.fill(Float.NaN);  // forward must overwrite out and lse, never read them
            lse.fill(Float.NaN);
            Tensor ws = arena.f32(ops.attentionWorkspaceFloats(s));
            ops.attentionForward(out, lse, q, k, v, pk, pv, qStart, kvStart, s, ws);

            // ---- reference: softmax(cap(scale Q K^T) + mask) V in float64 over [prefix ; cache] keys,
            // cap(s) = softcap tanh(s / softcap) or s ----
            var tq = TorchRef.of(q, true);
            var tk = TorchRef.of(kf, true, B, Tk, nkv, hd);
            var tv = TorchRef.of(vf, true, B, Tk, nkv, hd);
            var tpk = P > 0 ? TorchRef.of(pk, true) : null;
            var tpv = P > 0 ? TorchRef.of(pv, true) : null;
            var kAll = keys(tk, tpk, B, Tk, P, nkv, G, hd);
            var vAll = keys(tv, tpv, B, Tk, P, nkv, G, hd);
            float[] mask = new float[B * Tq * (P + Tk)];
            for (int b = 0; b < B; b++) {
                int qs = c.qStart() == null ? 0 : c.qStart()[b];
                for (int i = 0; i < Tq; i++) {
                    int lo = c.kvStart() == null ? 0 : c.kvStart()[b * Tq + i];
                    if (s.window() > 0) lo = Math.max(lo, qs + i - s.window() + 1);
                    for (int j = 0; j < Tk; j++) {
                        boolean visible = j >= lo && j <= qs + i;
                        mask[(b * Tq + i) * (P + Tk) + P + j] = visible ? 0f : Float.NEGATIVE_INFINITY;
                    }
                }
            }
            var tmask = TorchRef.of(mask, false, B, 1, Tq, P + Tk);
            var raw = tq.permute(0, 2, 1, 3).matmul(kAll.permute(0, 2, 3, 1))
                    .mul(new org.bytedeco.pytorch.Scalar((double) s.scale()));
            if (s.softcap() > 0) {
                var cap = new org.bytedeco.pytorch.Scalar((double) s.softcap());
                raw = torch.tanh(raw.div(cap)).mul(cap);
            }
            var scores = raw.add(tmask);
            var tout = torch.softmax(scores, -1).matmul(vAll.permute(0, 2, 1, 3)).permute(0, 2, 1, 3);
            var tlse = torch.logsumexp(scores, new long[] {-1}, false).permute(0, 2, 1);
            close(what + " out", out, tout);
            close(what + " lse", lse, tlse);

            // ---- backward accumulates into non-zero gradients ----
            Tensor dout = arena.adopt(rnd.tensor(1.0, B, Tq, nh, hd));
            Tensor dq = arena.adopt(rnd.tensor(0.5, B, Tq, nh, hd));
            Tensor dk = arena.adopt(rnd.tensor(0.5, B, Tk, nkv, hd));
            Tensor dv = arena.adopt(rnd.tensor(0.5, B, Tk, nkv, hd));
            Tensor dpk = P > 0 ? arena.adopt(rnd.tensor(0.5, P, nkv, hd)) : null;
            Tensor dpv = P > 0 ? arena.adopt(rnd.tensor(0.5, P, nkv, hd)) : null;
            var dq0 = TorchRef.of(dq, false);
            var dk0 = TorchRef.of(dk, false);
            var dv0 = TorchRef.of(dv, false);
            var dpk0 = P > 0 ? TorchRef.of(dpk, false) : null;
            var dpv0 = P > 0 ? TorchRef.of(dpv, false) : null;
            ops.attentionBackward(dq, dk, dv, dpk, dpv, dout, out, lse, q, k, v, pk, pv, qStart, kvStart, s, ws);
            tout.backward(TorchRef.of(dout, false), new BoolOptional(), false, new TensorArrayRefOptional());
            closeAdded(what + " dq", dq, tq.grad(), dq0);
            closeAdded(what + " dk", dk, tk.grad(), dk0);
            closeAdded(what + " dv", dv, tv.grad(), dv0);
            if (P > 0) {
                closeAdded(what + " dpk", dpk, tpk.grad(), dpk0);
                closeAdded(what + " dpv", dpv, tpv.grad(), dpv0);
            }

            // null gradients are skipped; the others are unaffected by which ones are requested
            Tensor dv2 = arena.zeros(B, Tk, nkv, hd);
            ops.attentionBackward(null, null, dv2, null, null, dout, out, lse, q, k, v, pk, pv, qStart, kvStart, s, ws);
            close(what + " dv alone", dv2, tv.grad());
        }
    }

    /** [B, P+Tk, nh, hd]: prefix (shared by all sequences) then cache, each KV head repeated for its G query heads. */
    private static org.bytedeco.pytorch.Tensor keys(org.bytedeco.pytorch.Tensor cache, org.bytedeco.pytorch.Tensor prefix,
                                                    int B, int Tk, int P, int nkv, int G, int hd) {
        var c = cache.unsqueeze(3).expand(B, Tk, nkv, G, hd).reshape(B, Tk, nkv * G, hd);
        if (P == 0) return c;
        var p = prefix.unsqueeze(0).unsqueeze(3).expand(B, P, nkv, G, hd).reshape(B, P, nkv * G, hd);
        return torch.cat(new TensorVector(p, c), 1);
    }

    @Test
    void theOlderConstructorsKeepTheDefaultScaleAndNoCap() {
        for (int hd : new int[] {6, 10, 64, 128, 256}) {
            AttentionShape s = new AttentionShape(2, 3, 4, 0, 4, 2, hd);
            assertEquals((float) (1.0 / Math.sqrt(hd)), s.scale());
            assertEquals(0f, s.softcap());
            assertEquals(new AttentionShape(2, 3, 4, 0, 4, 2, hd, 0, (float) (1.0 / Math.sqrt(hd)), 0f), s);
            assertEquals(s.scale(), new AttentionShape(2, 3, 4, 0, 4, 2, hd, 7).scale());
        }
        for (float bad : new float[] {0f, -0.1f, Float.NaN, Float.POSITIVE_INFINITY}) {
            assertThrows(IllegalArgumentException.class, () -> new AttentionShape(1, 1, 1, 0, 1, 1, 8, 0, bad, 0f));
        }
        for (float bad : new float[] {-1f, Float.NaN, Float.POSITIVE_INFINITY}) {
            assertThrows(IllegalArgumentException.class, () -> new AttentionShape(1, 1, 1, 0, 1, 1, 8, 0, 0.5f, bad));
        }
    }

    /** Passing the default scale explicitly runs the same arithmetic: the results are bit for bit the older ones. */
    @ParameterizedTest
    @MethodSource("backends")
    void anExplicitDefaultScaleIsBitIdentical(Ops ops) {
        Rand rnd = new Rand();
        AttentionShape old = new AttentionShape(2, 20, 20, 0, 4, 2, 16);
        AttentionShape explicit = new AttentionShape(2, 20, 20, 0, 4, 2, 16, 0, 0.25f, 0f);
        try (Arena arena = new Arena()) {
            Tensor q = arena.adopt(rnd.tensor(1.0, 2, 20, 4, 16));
            Tensor k = arena.adopt(rnd.tensor(1.0, 2, 20, 2, 16));
            Tensor v = arena.adopt(rnd.tensor(1.0, 2, 20, 2, 16));
            Tensor ws = arena.f32(ops.attentionWorkspaceFloats(old));
            Tensor o1 = arena.f32(2, 20, 4, 16), l1 = arena.f32(2, 20, 4);
            Tensor o2 = arena.f32(2, 20, 4, 16), l2 = arena.f32(2, 20, 4);
            ops.attentionForward(o1, l1, q, k, v, null, null, null, null, old, ws);
            ops.attentionForward(o2, l2, q, k, v, null, null, null, null, explicit, ws);
            assertArrayEquals(o1.toFloatArray(), o2.toFloatArray(), 0f);
            assertArrayEquals(l1.toFloatArray(), l2.toFloatArray(), 0f);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void invalidOffsetsThrow(Ops ops) {
        Rand rnd = new Rand();
        AttentionShape s = new AttentionShape(2, 4, 8, 0, 2, 1, 8);
        try (Arena arena = new Arena()) {
            Tensor q = arena.adopt(rnd.tensor(1.0, 2, 4, 2, 8));
            Tensor k = arena.adopt(rnd.tensor(1.0, 2, 8, 1, 8));
            Tensor v = arena.adopt(rnd.tensor(1.0, 2, 8, 1, 8));
            Tensor out = arena.zeros(2, 4, 2, 8), lse = arena.zeros(2, 4, 2);
            Tensor ws = arena.f32(ops.attentionWorkspaceFloats(s));
            // q_start + Tq beyond the capacity, negative q_start, a query that cannot see itself
            Tensor overflow = arena.adopt(Tensor.ofInts(new int[] {0, 5}, 2));
            Tensor negative = arena.adopt(Tensor.ofInts(new int[] {-1, 0}, 2));
            Tensor blind = arena.adopt(Tensor.ofInts(new int[] {0, 0, 0, 0, 0, 2, 2, 3}, 2, 4));
            assertThrows(IllegalArgumentException.class,
                    () -> ops.attentionForward(out, lse, q, k, v, null, null, overflow, null, s, ws));
            assertThrows(IllegalArgumentException.class,
                    () -> ops.attentionForward(out, lse, q, k, v, null, null, negative, null, s, ws));
            assertThrows(IllegalArgumentException.class,
                    () -> ops.attentionForward(out, lse, q, k, v, null, null, null, blind, s, ws));
            assertThrows(IllegalArgumentException.class, () -> ops.attentionBackward(out, null, null, null, null, out,
                    out, lse, q, k, v, null, null, overflow, null, s, ws));
            assertArrayEquals(new float[2 * 4 * 2 * 8], out.toFloatArray(), 0f);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void kvWriteFillsTheRowsAfterEachOffset(Ops ops) {
        Rand rnd = new Rand();
        int B = 3, Tq = 4, Tmax = 12, width = 10;
        try (Arena arena = new Arena()) {
            Tensor cache = arena.adopt(rnd.tensor(1.0, B, Tmax, width));
            float[] before = cache.toFloatArray();
            Tensor src = arena.adopt(rnd.tensor(1.0, B, Tq, width));
            int[] qs = {0, 5, 8};
            ops.kvWrite(cache, src, arena.adopt(Tensor.ofInts(qs, B)));
            float[] want = before.clone(), sf = src.toFloatArray();
            for (int b = 0; b < B; b++) {
                System.arraycopy(sf, b * Tq * width, want, (b * Tmax + qs[b]) * width, Tq * width);
            }
            assertArrayEquals(want, cache.toFloatArray(), 0f);

            float[] now = cache.toFloatArray();
            Tensor full = arena.adopt(Tensor.ofInts(new int[] {0, 9, 1}, B));  // 9 + 4 > 12
            assertThrows(IndexOutOfBoundsException.class, () -> ops.kvWrite(cache, src, full));
            Tensor neg = arena.adopt(Tensor.ofInts(new int[] {0, -1, 1}, B));
            assertThrows(IndexOutOfBoundsException.class, () -> ops.kvWrite(cache, src, neg));
            assertArrayEquals(now, cache.toFloatArray(), 0f, "a refused write leaves the cache as it was");
        }
    }

    @SuppressWarnings("unused")
    private static String str(int[] a) {
        return Arrays.toString(a);
    }
}
