package io.tune4j.generate;

/** The prompt does not leave room for a single new token in the model's context. */
public final class PromptTooLongException extends IllegalArgumentException {
    public PromptTooLongException(int promptTokens, int context) {
        super("prompt has " + promptTokens + " tokens but the model's context holds " + context
                + "; shorten the prompt");
    }
}
