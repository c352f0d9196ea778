package io.tune4j.train.objective;

import io.tune4j.model.LlamaModel;

/**
 * Summed log-probabilities and target counts of the chosen and rejected response of each pair in a batch.
 * Preference batches interleave their rows: row 2k is pair k's chosen sequence, row 2k+1 its rejected one.
 */
public record PairLogProbs(double[] chosen, double[] rejected, int[] chosenCount, int[] rejectedCount) {

    public int pairs() {
        return chosen.length;
    }

    public static PairLogProbs of(LlamaModel.SequenceLogProbs rows) {
        int n = rows.logp().length;
        if (n % 2 != 0) throw new IllegalArgumentException("a preference batch has an even number of rows, got " + n);
        int p = n / 2;
        double[] c = new double[p], r = new double[p];
        int[] nc = new int[p], nr = new int[p];
        for (int k = 0; k < p; k++) {
            c[k] = rows.logp()[2 * k];
            r[k] = rows.logp()[2 * k + 1];
            nc[k] = rows.counts()[2 * k];
            nr[k] = rows.counts()[2 * k + 1];
        }
        return new PairLogProbs(c, r, nc, nr);
    }
}
