package io.tune4j.ops;

/** AdamW hyper-parameters for one parameter group. */
public record AdamWParams(float lr, float beta1, float beta2, float eps, float weightDecay) {
    public AdamWParams withLr(float newLr) {
        return new AdamWParams(newLr, beta1, beta2, eps, weightDecay);
    }
}
