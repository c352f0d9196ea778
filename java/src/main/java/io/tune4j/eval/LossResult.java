package io.tune4j.eval;

/** Summed token loss (nats) over the counted target tokens of some batches. */
public record LossResult(double lossSum, long tokens, int batches) {
    public double meanLoss() {
        return tokens == 0 ? Double.NaN : lossSum / tokens;
    }

    /** exp(mean loss per token). */
    public double perplexity() {
        return Math.exp(meanLoss());
    }
}
