package io.tune4j.train;

/**
 * Learning rate per optimiser step: linear warm-up to the peak, then constant, linear or cosine
 * decay to minLr at totalSteps. A pure function of the step, so resuming needs only the step.
 */
public final class LrSchedule {
    private final TrainConfig.Schedule kind;
    private final double peak;
    private final double min;
    private final int warmup;
    private final int total;

    public LrSchedule(TrainConfig.Schedule kind, double peak, double min, int warmupSteps, int totalSteps) {
        if (totalSteps < 1) throw new IllegalArgumentException("totalSteps: expected >= 1, got " + totalSteps);
        this.kind = kind;
        this.peak = peak;
        this.min = min;
        this.warmup = warmupSteps;
        this.total = totalSteps;
    }

    public static LrSchedule of(TrainConfig c, int totalSteps) {
        return new LrSchedule(c.schedule(), c.lr(), c.minLr(), c.warmupSteps(), totalSteps);
    }

    /** The rate of the update with 0-based index {@code step}; minLr is reached at step totalSteps (as in Hugging Face). */
    public double lr(int step) {
        // warm-up counts from 1 so that the very first update already moves
        if (step < warmup) return peak * (step + 1) / warmup;
        double p = Math.min(1.0, (double) (step - warmup) / Math.max(1, total - warmup));
        return switch (kind) {
            case CONSTANT -> peak;
            case LINEAR -> peak + (min - peak) * p;
            case COSINE -> min + (peak - min) * 0.5 * (1 + Math.cos(Math.PI * p));
        };
    }

    public int totalSteps() {
        return total;
    }
}
