package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Check;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * The per-sequence LM-head log-probabilities and the DPO / ORPO losses against libtorch computations of
 * the same formulas, values and gradients.
 */
class PreferenceLossTest {
    static final int IGNORE = -100;

    private static double[] asDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test
    void sequenceLogProbsAndWeightedGradientMatchLibtorch() {
        Ops ops = CpuOps.INSTANCE;
        Rand rnd = new Rand();
        // {B, T, d, V, blockRows}: blocks that split sequences, and one that holds the whole batch
        int[][] shapes = {{4, 5, 16, 37, 3}, {2, 9, 24, 700, 4}, {3, 4, 8, 50, 12}};
        // softcap 0 through the older signature, then Gemma 2's 30 and a cap that bends every logit
        for (float cap : new float[] {0f, 30f, 2f}) {
            for (int[] s : shapes) {
                int B = s[0], T = s[1], d = s[2], V = s[3], br = s[4], M = B * T;
                try (Arena arena = new Arena()) {
                    Tensor h = arena.adopt(rnd.tensor(1.0, M, d));
                    Tensor w = arena.adopt(rnd.tensor(0.5, V, d));
                    int[] t = new int[M];
                    for (int i = 0; i < M; i++) t[i] = rnd.nextInt(3) == 0 ? IGNORE : rnd.nextInt(V);
                    for (int i = 0; i < T; i++) t[i] = IGNORE; // a sequence without targets
                    t[T + 1] = rnd.nextInt(V);
                    Tensor targets = arena.adopt(Tensor.ofInts(t, M));
                    float[] weights = new float[B];
                    for (int b = 0; b < B; b++) weights[b] = (float) (rnd.nextInt(200) / 100.0 - 1);
                    weights[B - 1] = 0f; // a weight of zero contributes nothing
                    Tensor dh = arena.adopt(rnd.tensor(0.1, M, d));
                    Tensor dw = arena.adopt(rnd.tensor(0.1, V, d));
                    var dh0 = TorchRef.of(dh, false);
                    var dw0 = TorchRef.of(dw, false);
                    Tensor ws = arena.f32((long) br * V);
                    double[] logp = new double[B];
                    int[] counts = new int[B];
                    int counted = cap == 0f
                        ? ops.lmHeadSequenceLogProbs(logp, counts, dh, dw, h, w, targets, weights, B, ws, br)
                        : ops.lmHeadSequenceLogProbs(logp, counts, dh, dw, h, w, targets, weights, B, cap, ws, br);

                    var th = TorchRef.of(h, true);
                    var tw = TorchRef.of(w, true);
                    // -nll per row, summed over each sequence's T rows
                    var logits = th.matmul(tw.t());
                    if (cap > 0) { // Gemma 2's final-logit soft-capping
                        var c = new org.bytedeco.pytorch.Scalar((double) cap);
                        logits = torch.tanh(logits.div(c)).mul(c);
                    }
                    var rowLp = torch.nll_loss(torch.log_softmax(logits, 1), TorchRef.ofLongs(t, M),
                            new TensorOptional(), 0, IGNORE).neg();
                    var seqLp = rowLp.view(B, T).sum(1);
                    String what = "sequence log-probs cap=" + cap + " B=" + B + " T=" + T + " V=" + V + " block " + br
                            + " " + rnd;
                    close(what + " logp", toFloats(logp), TorchRef.values(seqLp), Check.FP32_TOL);
                    int expect = 0;
                    for (int b = 0; b < B; b++) {
                        int n = 0;
                        for (int i = b * T; i < (b + 1) * T; i++) if (t[i] != IGNORE) n++;
                        assertEquals(n, counts[b], what + " count of sequence " + b);
                        expect += n;
                    }
                    assertEquals(expect, counted, what + " counted rows");
                    assertEquals(0, counts[0], what + " empty sequence");
                    assertEquals(0.0, logp[0], what + " empty sequence");
                    seqLp.mul(TorchRef.of(weights, false, B)).sum().backward(new org.bytedeco.pytorch.Tensor(),
                            new BoolOptional(), false, new TensorArrayRefOptional());
                    closeAdded(what + " dh", dh, th.grad(), dh0);
                    closeAdded(what + " dw", dw, tw.grad(), dw0);

                    // forward only: the same values, no gradient written
                    double[] again = new double[B];
                    ops.lmHeadSequenceLogProbs(again, new int[B], null, null, h, w, targets, null, B, cap, ws,
                            br);
                    close(what + " eval logp", toFloats(again), TorchRef.values(seqLp), Check.FP32_TOL);
                }
            }
        }
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @Test
    void dpoLossAndGradientMatchLibtorch() {
        Rand rnd = new Rand();
        int N = 7;
        float[] pc = logps(rnd, N), pr = logps(rnd, N), rc = logps(rnd, N), rr = logps(rnd, N);
        int[] nc = {3, 4, 1, 9, 2, 5, 0}, nr = {2, 4, 6, 1, 3, 2, 4}; // the last pair has no chosen tokens
        double beta = 0.3, gradScale = 0.25;
        PreferenceLosses.Result r = PreferenceLosses.dpo(asDoubles(pc), asDoubles(pr), asDoubles(rc), asDoubles(rr), nc, nr,
                beta, gradScale);
        assertEquals(N - 1, r.pairs());
        int n = N - 1;
        var tpc = TorchRef.of(java.util.Arrays.copyOf(pc, n), true, n);
        var tpr = TorchRef.of(java.util.Arrays.copyOf(pr, n), true, n);
        var trc = TorchRef.of(java.util.Arrays.copyOf(rc, n), false, n);
        var trr = TorchRef.of(java.util.Arrays.copyOf(rr, n), false, n);
        var z = tpc.sub(trc).sub(tpr.sub(trr)).mul(new org.bytedeco.pytorch.Scalar(beta));
        var losses = torch.log_sigmoid(z).neg();
        var loss = losses.sum();
        String what = "dpo " + rnd;
        close(what + " loss", new float[] {(float) r.lossSum()}, TorchRef.values(loss), 1e-6); // compared as floats
        close(what + " margin", new float[] {(float) r.marginSum()}, TorchRef.values(z.sum()), 1e-6);
        double correct = 0;
        for (double v : TorchRef.values(z)) if (v > 0) correct++;
        assertEquals(correct, r.correct(), what + " pairs ranked right");
        loss.mul(new org.bytedeco.pytorch.Scalar(gradScale)).backward(new org.bytedeco.pytorch.Tensor(), new BoolOptional(),
                false, new TensorArrayRefOptional());
        close(what + " dlogp chosen", toFloats(java.util.Arrays.copyOf(r.gradChosen(), n)), TorchRef.values(tpc.grad()), 1e-6);
        close(what + " dlogp rejected", toFloats(java.util.Arrays.copyOf(r.gradRejected(), n)), TorchRef.values(tpr.grad()), 1e-6);
        assertEquals(0.0, r.gradChosen()[N - 1]);
        assertEquals(0.0, r.gradRejected()[N - 1]);
    }

    @Test
    void orpoLossAndGradientMatchLibtorch() {
        Rand rnd = new Rand();
        int N = 6;
        float[] pc = logps(rnd, N), pr = logps(rnd, N);
        int[] nc = {3, 4, 1, 9, 2, 5}, nr = {2, 4, 6, 1, 3, 2};
        double lambda = 0.4, gradScale = 0.5;
        PreferenceLosses.Result r = PreferenceLosses.orpo(asDoubles(pc), asDoubles(pr), nc, nr, lambda, gradScale);
        assertEquals(N, r.pairs());
        var tpc = TorchRef.of(pc, true, N);
        var tpr = TorchRef.of(pr, true, N);
        var ac = tpc.div(TorchRef.of(toFloatCounts(nc), false, N));
        var ar = tpr.div(TorchRef.of(toFloatCounts(nr), false, N));
        // log odds(a) = a - log(1 - exp(a))
        var one = new org.bytedeco.pytorch.Scalar(1.0);
        var oddsC = ac.sub(torch.log(torch.exp(ac).neg().add(one)));
        var oddsR = ar.sub(torch.log(torch.exp(ar).neg().add(one)));
        var loss = ac.neg().sub(torch.log_sigmoid(oddsC.sub(oddsR)).mul(new org.bytedeco.pytorch.Scalar(lambda))).sum();
        String what = "orpo " + rnd;
        close(what + " loss", new float[] {(float) r.lossSum()}, TorchRef.values(loss), 1e-6);
        close(what + " margin", new float[] {(float) r.marginSum()}, TorchRef.values(ac.sub(ar).sum()), 1e-6);
        loss.mul(new org.bytedeco.pytorch.Scalar(gradScale)).backward(new org.bytedeco.pytorch.Tensor(), new BoolOptional(),
                false, new TensorArrayRefOptional());
        close(what + " dlogp chosen", toFloats(r.gradChosen()), TorchRef.values(tpc.grad()), 1e-6);
        close(what + " dlogp rejected", toFloats(r.gradRejected()), TorchRef.values(tpr.grad()), 1e-6);
        assertTrue(r.correct() >= 0 && r.correct() <= N);
    }

    private static float[] toFloatCounts(int[] n) {
        float[] f = new float[n.length];
        for (int i = 0; i < n.length; i++) f[i] = n[i];
        return f;
    }

    /** Summed log-probabilities: negative, a few nats. */
    private static float[] logps(Rand rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = -(0.05f + rnd.nextInt(800) / 100f);
        return v;
    }
}
