package io.tune4j.ops;

/**
 * A training step's running loss: each micro-batch adds its summed loss and counted targets, and the step
 * reads the total once ({@link #take}). This one adds on the host; a GPU backend's keeps the sums on the
 * device ({@link Ops#newLossSum}), so that a step's micro-batches never wait for one another's results.
 */
public class LossSum implements AutoCloseable {
    private double sum;
    private double count;

    /** Adds a micro-batch's summed loss and its counted targets. */
    public void add(double lossSum, double targets) {
        sum += lossSum;
        count += targets;
    }

    /** {summed loss, counted targets} since the last take; both start again from zero. */
    public double[] take() {
        double[] out = {sum, count};
        sum = 0;
        count = 0;
        return out;
    }

    @Override
    public void close() {}
}
