package io.tune4j.peft;

/**
 * Prefix-tuning hyper-parameters, named as in PEFT's PrefixTuningConfig.
 *
 * @param numVirtualTokens  virtual tokens n of trainable keys/values in every layer, positive
 * @param prefixProjection  reparameterise through PEFT's MLP: embedding [n, kvDim] -> Linear(kvDim, hidden)
 *                          -> tanh -> Linear(hidden, layers*2*kvDim)
 * @param encoderHiddenSize width of that MLP (ignored without projection)
 * @param seed              initialisation seed
 */
public record PrefixConfig(int numVirtualTokens, boolean prefixProjection, int encoderHiddenSize, long seed) {
    public PrefixConfig {
        if (numVirtualTokens <= 0) {
            throw new IllegalArgumentException("prefix num_virtual_tokens must be positive, got " + numVirtualTokens);
        }
        if (prefixProjection && encoderHiddenSize <= 0) {
            throw new IllegalArgumentException("prefix encoder_hidden_size must be positive, got " + encoderHiddenSize);
        }
    }

    /** 20 virtual tokens, no reparameterisation. */
    public static PrefixConfig defaults() {
        return new PrefixConfig(20, false, 0, 42L);
    }
}
