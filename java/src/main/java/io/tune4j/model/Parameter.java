package io.tune4j.model;

import io.tune4j.tensor.Allocator;
import io.tune4j.tensor.Tensor;

/**
 * A named weight with its gradient. The gradient exists only while the parameter trains;
 * frozen parameters (the base model under LoRA) carry none and cost no gradient memory.
 */
public final class Parameter implements AutoCloseable {
    private final String name;
    private final Tensor value;
    private Tensor grad;
    private Allocator gradAllocator;

    public Parameter(String name, Tensor value) {
        this.name = name;
        this.value = value;
    }

    public String name() {
        return name;
    }

    public Tensor value() {
        return value;
    }

    /** The gradient, or null when frozen. */
    public Tensor grad() {
        return grad;
    }

    public boolean trainable() {
        return grad != null;
    }

    public long numel() {
        return value.numel();
    }

    /** {@link #requireGrad(Allocator)} for a parameter held in host memory. */
    public void requireGrad() {
        requireGrad(Allocator.HOST);
    }

    /** Makes the parameter trainable: allocates a zeroed gradient once, through the backend the value lives on. */
    public void requireGrad(Allocator backend) {
        if (backend.device() != value.device()) {
            throw new IllegalArgumentException(name + " lives on " + value.device() + ", not on " + backend.device());
        }
        if (grad == null) {
            grad = backend.zeros(value.shape());
            gradAllocator = backend;
        }
    }

    /** Freezes the parameter and releases its gradient memory. */
    public void freeze() {
        if (grad != null) {
            grad.close();
            grad = null;
        }
    }

    public void zeroGrad() {
        if (grad != null) gradAllocator.fill(grad, 0f);
    }

    @Override
    public void close() {
        freeze();
    }

    @Override
    public String toString() {
        return name + java.util.Arrays.toString(value.shape()) + (trainable() ? " trainable" : "");
    }
}
