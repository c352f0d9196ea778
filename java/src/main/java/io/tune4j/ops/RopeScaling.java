package io.tune4j.ops;

/**
 * RoPE frequencies: base theta plus the optional scaling from config.json's rope_scaling
 * (type "llama3" or "linear").
 */
public record RopeScaling(float theta, Type type, float factor, float lowFreqFactor, float highFreqFactor,
                          int originalMaxPositions) {
    public enum Type {
        NONE(0), LLAMA3(1), LINEAR(2);

        public final int code;

        Type(int code) {
            this.code = code;
        }
    }

    public static RopeScaling none(float theta) {
        return new RopeScaling(theta, Type.NONE, 1f, 1f, 4f, 8192);
    }
}
