package io.tune4j.peft;

import io.tune4j.ops.Activation;

/**
 * Bottleneck adapter hyper-parameters.
 *
 * @param kind       HOULSBY: adapters after the attention and the MLP output; PFEIFFER: after the MLP only
 * @param bottleneck width m of the bottleneck (hidden -> m -> hidden), positive
 * @param activation relu, gelu (tanh approximation) or silu
 * @param initStd    standard deviation of the down-projection's normal init; the up-projection starts at zero
 * @param seed       initialisation seed
 */
public record AdapterConfig(Kind kind, int bottleneck, Activation activation, float initStd, long seed) {
    public enum Kind { HOULSBY, PFEIFFER }

    public AdapterConfig {
        if (kind == null) throw new IllegalArgumentException("adapter kind is missing (expected houlsby or pfeiffer)");
        if (bottleneck <= 0) throw new IllegalArgumentException("adapter bottleneck size must be positive, got " + bottleneck);
        if (activation == null) throw new IllegalArgumentException("adapter activation is missing (expected relu, gelu or silu)");
        if (!(initStd >= 0) || !Float.isFinite(initStd)) {
            throw new IllegalArgumentException("adapter init std must be finite and >= 0, got " + initStd);
        }
    }

    /** Houlsby adapters of width 64 with ReLU, down-projection ~ N(0, 0.01^2). */
    public static AdapterConfig defaults() {
        return new AdapterConfig(Kind.HOULSBY, 64, Activation.RELU, 1e-2f, 42L);
    }

    public static Kind parseKind(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "houlsby" -> Kind.HOULSBY;
            case "pfeiffer" -> Kind.PFEIFFER;
            default -> throw new IllegalArgumentException("unknown adapter type '" + s + "' (expected houlsby or pfeiffer)");
        };
    }
}
