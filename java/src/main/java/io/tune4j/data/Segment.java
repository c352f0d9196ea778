package io.tune4j.data;

/**
 * A piece of a templated example: text, or a BOS/EOS token that must be emitted as its id rather
 * than spelled out. trainable marks the pieces the loss is computed on (responses and their EOS).
 */
public record Segment(Type type, String text, boolean trainable) {
    public enum Type { TEXT, BOS, EOS }

    public static Segment prompt(String text) {
        return new Segment(Type.TEXT, text, false);
    }

    public static Segment response(String text) {
        return new Segment(Type.TEXT, text, true);
    }

    /** BOS, emitted when the tokenizer adds one to a sequence (add_bos_token). */
    public static Segment bos() {
        return new Segment(Type.BOS, "", false);
    }

    /** EOS closing a response: trained on, so the model learns to stop. */
    public static Segment eos() {
        return new Segment(Type.EOS, "", true);
    }
}
