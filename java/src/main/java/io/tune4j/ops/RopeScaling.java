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

    /** One line for {@code tune4j info}. */
    public String describe() {
        return switch (type) {
            case NONE -> "RoPE (theta " + theta + ")";
            case LINEAR -> "RoPE (theta " + theta + ", linear scaling x" + factor + ")";
            case LLAMA3 -> "RoPE (theta " + theta + ", Llama 3 scaling x" + factor + " from " + originalMaxPositions
                    + " positions)";
        };
    }
}
