package io.tune4j.train.objective;

import io.tune4j.data.Batch;
import io.tune4j.data.BatchSource;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.TrainingContext;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The reference of a full fine-tune, whose weights are the policy's: each sequence's log-probability under
 * the initial weights, computed once before training and looked up by the sequence's tokens and targets
 * (batches reshuffle every epoch, so position in a batch is no key).
 */
public final class PrecomputedReference implements ReferenceModel {
    private record RowKey(int[] ids, int[] targets) {
        @Override
        public boolean equals(Object o) {
            return o instanceof RowKey k && Arrays.equals(ids, k.ids) && Arrays.equals(targets, k.targets);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(ids) + Arrays.hashCode(targets);
        }
    }

    private final Map<RowKey, double[]> rows = new HashMap<>();

    /** Runs every batch of epoch 0 of each source through the model as it is now. */
    public static PrecomputedReference compute(LlamaModel model, TrainingContext c, BatchSource... sources) {
        PrecomputedReference ref = new PrecomputedReference();
        for (BatchSource s : sources) {
            if (s == null) continue;
            for (int i = 0; i < s.batchesPerEpoch(); i++) {
                Batch b = s.batch(0, i);
                c.setBatch(b.ids(), b.targets(), b.positions(), b.kvStart());
                LlamaModel.SequenceLogProbs lp = model.sequenceLogProbs(c);
                for (int r = 0; r < b.batchSize(); r++) ref.rows.put(key(b, r), new double[] {lp.logp()[r], lp.counts()[r]});
            }
        }
        return ref;
    }

    /** This reference and other's rows together. */
    public PrecomputedReference plus(PrecomputedReference other) {
        PrecomputedReference r = new PrecomputedReference();
        r.rows.putAll(rows);
        r.rows.putAll(other.rows);
        return r;
    }

    public int size() {
        return rows.size();
    }

    private static RowKey key(Batch b, int row) {
        int from = row * b.seqLen(), to = from + b.seqLen();
        return new RowKey(Arrays.copyOfRange(b.ids(), from, to), Arrays.copyOfRange(b.targets(), from, to));
    }

    @Override
    public PairLogProbs logProbs(TrainingContext c, Batch b) {
        double[] logp = new double[b.batchSize()];
        int[] counts = new int[b.batchSize()];
        for (int r = 0; r < b.batchSize(); r++) {
            double[] v = rows.get(key(b, r));
            if (v == null) throw new IllegalStateException("no reference log-probability for row " + r + " of a batch");
            logp[r] = v[0];
            counts[r] = (int) v[1];
        }
        return PairLogProbs.of(new LlamaModel.SequenceLogProbs(logp, counts));
    }
}
