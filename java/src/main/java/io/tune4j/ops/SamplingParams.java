package io.tune4j.ops;

/** Decoding controls; temperature 0 means greedy, topK 0 and topP 1 disable those filters. */
public record SamplingParams(float temperature, int topK, float topP, float repetitionPenalty) {
    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 1f);

    public SamplingParams {
        if (temperature < 0) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(repetitionPenalty > 0f)) throw new IllegalArgumentException("repetition penalty must be > 0, got " + repetitionPenalty);
    }

    public boolean greedy() {
        return temperature == 0f;
    }
}
