package io.tune4j.train;

import io.tune4j.model.Parameter;
import io.tune4j.ops.AdamWParams;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.util.List;
import java.util.function.Predicate;

/**
 * AdamW (decoupled weight decay) over a fixed list of trainable parameters. The moment estimates
 * live in native memory allocated once; each {@link #step} runs one fused native update per
 * parameter. Parameters for which {@code decays} is false get no weight decay.
 */
public final class AdamW implements AutoCloseable {
    private final Ops ops;
    private final List<Parameter> params;
    private final Tensor[] m;
    private final Tensor[] v;
    private final AdamWParams[] hyper;
    private final Arena arena;  // the moments live with the parameters, on the backend
    private int step;

    public AdamW(Ops ops, List<Parameter> params, float beta1, float beta2, float eps, float weightDecay,
                 Predicate<Parameter> decays) {
        this.ops = ops;
        this.arena = new Arena(ops);
        this.params = List.copyOf(params);
        int n = this.params.size();
        m = new Tensor[n];
        v = new Tensor[n];
        hyper = new AdamWParams[n];
        for (int i = 0; i < n; i++) {
            Parameter p = this.params.get(i);
            if (!p.trainable()) throw new IllegalArgumentException("parameter " + p.name() + " has no gradient (frozen)");
            m[i] = arena.zeros(p.value().shape());
            v[i] = arena.zeros(p.value().shape());
            hyper[i] = new AdamWParams(0f, beta1, beta2, eps, decays.test(p) ? weightDecay : 0f);
        }
    }

    /** The backend the moments live on. */
    public Ops ops() {
        return ops;
    }

    public static AdamW of(Ops ops, List<Parameter> params, TrainConfig c) {
        return new AdamW(ops, params, (float) c.beta1(), (float) c.beta2(), (float) c.eps(), (float) c.weightDecay(),
                p -> c.decays(p.name(), p.value().rank()));
    }

    /** One update of every parameter from its current gradient, with learning rate lr. */
    public void step(double lr) {
        step++;
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            ops.adamw(p.value(), p.grad(), m[i], v[i], hyper[i].withLr((float) lr), step);
        }
    }

    public void zeroGrad() {
        for (Parameter p : params) p.zeroGrad();
    }

    /** Updates taken so far (the bias-correction step). */
    public int stepCount() {
        return step;
    }

    /** Restores the step counter (resuming); the moments are restored through {@link #firstMoment}/{@link #secondMoment}. */
    public void setStepCount(int s) {
        if (s < 0) throw new IllegalArgumentException("step count must be >= 0, got " + s);
        step = s;
    }

    public List<Parameter> parameters() {
        return params;
    }

    public Tensor firstMoment(int i) {
        return m[i];
    }

    public Tensor secondMoment(int i) {
        return v[i];
    }

    public boolean decays(int i) {
        return hyper[i].weightDecay() != 0f;
    }

    @Override
    public void close() {
        arena.close();
    }
}
