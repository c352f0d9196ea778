package io.tune4j.ops;

import io.tune4j.runtime.NativeLib;

/**
 * DPO and ORPO losses over the summed log-probabilities of N (chosen, rejected) pairs, computed natively
 * with their gradients. They work on a handful of host scalars per batch, so every backend shares them.
 */
public final class PreferenceLosses {
    private PreferenceLosses() {}

    /**
     * One batch's result, summed over its counted pairs (those whose chosen and rejected sequence both have
     * targets). gradChosen/gradRejected are gradScale * dloss/dlogp per pair: the sequence weights of the backward.
     */
    public record Result(int pairs, double lossSum, double marginSum, double correct, double chosenLogpSum,
                         double rejectedLogpSum, double[] gradChosen, double[] gradRejected) {}

    public static Result dpo(double[] policyChosen, double[] policyRejected, double[] refChosen, double[] refRejected,
                             int[] nChosen, int[] nRejected, double beta, double gradScale) {
        int n = checkLengths(policyChosen, policyRejected, nChosen, nRejected);
        if (refChosen.length != n || refRejected.length != n) throw new IllegalArgumentException("reference log-probs differ in length");
        if (!(beta > 0)) throw new IllegalArgumentException("beta must be > 0, got " + beta);
        double[] sums = new double[5], gc = new double[n], gr = new double[n];
        int pairs = NativeStatus.check(NativeLib.t4j_dpo_loss(sums, gc, gr, policyChosen, policyRejected, refChosen,
                refRejected, nChosen, nRejected, n, beta, gradScale), "dpo loss");
        return new Result(pairs, sums[0], sums[1], sums[2], sums[3], sums[4], gc, gr);
    }

    public static Result orpo(double[] policyChosen, double[] policyRejected, int[] nChosen, int[] nRejected,
                              double lambda, double gradScale) {
        int n = checkLengths(policyChosen, policyRejected, nChosen, nRejected);
        if (!(lambda >= 0)) throw new IllegalArgumentException("orpo lambda must be >= 0, got " + lambda);
        double[] sums = new double[5], gc = new double[n], gr = new double[n];
        int pairs = NativeStatus.check(NativeLib.t4j_orpo_loss(sums, gc, gr, policyChosen, policyRejected, nChosen,
                nRejected, n, lambda, gradScale), "orpo loss");
        return new Result(pairs, sums[0], sums[1], sums[2], sums[3], sums[4], gc, gr);
    }

    private static int checkLengths(double[] pc, double[] pr, int[] nc, int[] nr) {
        int n = pc.length;
        if (pr.length != n || nc.length != n || nr.length != n) {
            throw new IllegalArgumentException("chosen and rejected log-probs and counts differ in length");
        }
        return n;
    }
}
