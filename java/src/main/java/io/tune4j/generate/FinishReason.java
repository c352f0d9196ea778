package io.tune4j.generate;

/** Why generation ended, in OpenAI's vocabulary. */
public enum FinishReason {
    /** An end-of-sequence token or a stop string. */
    STOP,
    /** The token limit or the model's context was reached. */
    LENGTH,
    /** The caller cancelled the sequence. */
    CANCELLED;

    public String openAiName() {
        return this == LENGTH ? "length" : "stop";
    }
}
