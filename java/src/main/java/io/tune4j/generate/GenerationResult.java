package io.tune4j.generate;

/** A finished continuation. */
public record GenerationResult(String text, int[] tokens, int promptTokens, FinishReason finishReason) {
    public int completionTokens() {
        return tokens.length;
    }
}
