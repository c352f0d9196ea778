package io.tune4j.ops;

/** Activations the adapter op supports; codes match T4J_ACT_* in tune4j.h. */
public enum Activation {
    RELU(0), GELU(1), SILU(2);

    public final int code;

    Activation(int code) {
        this.code = code;
    }

    public static Activation parse(String name) {
        switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "relu": return RELU;
            case "gelu": case "gelu_new": case "gelu_pytorch_tanh": return GELU;
            case "silu": case "swish": return SILU;
            default: throw new IllegalArgumentException("unknown activation '" + name + "' (expected relu, gelu or silu)");
        }
    }
}
