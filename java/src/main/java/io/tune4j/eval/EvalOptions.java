package io.tune4j.eval;

import java.util.List;

/**
 * How generation-based metrics generate (greedy, up to maxNewTokens, ending at any stop string,
 * slots sequences decoded together) and score, and how many tokens a loss or likelihood batch
 * holds (its activations scale with it).
 */
public record EvalOptions(int maxNewTokens, List<String> stop, int slots, AnswerFormat answerFormat,
                          Bleu.Smoothing bleuSmoothing, int batchTokens) {
    public EvalOptions {
        if (maxNewTokens < 1) throw new IllegalArgumentException("max new tokens must be >= 1, got " + maxNewTokens);
        if (slots < 1) throw new IllegalArgumentException("slots must be >= 1, got " + slots);
        if (batchTokens < 1) throw new IllegalArgumentException("batch tokens must be >= 1, got " + batchTokens);
        stop = stop == null ? List.of() : List.copyOf(stop);
        if (answerFormat == null) answerFormat = AnswerFormat.TEXT;
        if (bleuSmoothing == null) bleuSmoothing = Bleu.Smoothing.EXP;
    }

    public static EvalOptions defaults() {
        return new EvalOptions(64, List.of(), 8, AnswerFormat.TEXT, Bleu.Smoothing.EXP, 2048);
    }

    public EvalOptions withMaxNewTokens(int n) {
        return new EvalOptions(n, stop, slots, answerFormat, bleuSmoothing, batchTokens);
    }

    public EvalOptions withStop(List<String> s) {
        return new EvalOptions(maxNewTokens, s, slots, answerFormat, bleuSmoothing, batchTokens);
    }

    public EvalOptions withSlots(int n) {
        return new EvalOptions(maxNewTokens, stop, n, answerFormat, bleuSmoothing, batchTokens);
    }

    public EvalOptions withAnswerFormat(AnswerFormat f) {
        return new EvalOptions(maxNewTokens, stop, slots, f, bleuSmoothing, batchTokens);
    }

    public EvalOptions withBleuSmoothing(Bleu.Smoothing s) {
        return new EvalOptions(maxNewTokens, stop, slots, answerFormat, s, batchTokens);
    }

    public EvalOptions withBatchTokens(int n) {
        return new EvalOptions(maxNewTokens, stop, slots, answerFormat, bleuSmoothing, n);
    }
}
