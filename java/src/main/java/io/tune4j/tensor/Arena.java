package io.tune4j.tensor;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Owns a group of tensors with one lifetime (a model's weights, a training step's activations).
 * Closing the arena closes them in reverse order of creation. Its tensors come from one
 * {@link Allocator}: the backend that runs the ops on them, or the host.
 */
public final class Arena implements AutoCloseable {
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final Allocator allocator;
    private boolean closed;

    /** Host tensors. */
    public Arena() {
        this(Allocator.HOST);
    }

    /** Tensors of this allocator (a backend: pass the {@code Ops} that will run on them). */
    public Arena(Allocator allocator) {
        this.allocator = allocator;
    }

    public Allocator allocator() {
        return allocator;
    }

    public Tensor allocate(DType dtype, long... shape) {
        return adopt(allocator.allocate(dtype, shape));
    }

    public Tensor f32(long... shape) {
        return allocate(DType.F32, shape);
    }

    public Tensor zeros(long... shape) {
        return adopt(allocator.zeros(shape));
    }

    public Tensor i32(long... shape) {
        return allocate(DType.I32, shape);
    }

    public synchronized <T extends AutoCloseable> T adopt(T resource) {
        if (closed) throw new IllegalStateException("arena is closed");
        owned.push(resource);
        return resource;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                if (first == null) first = new RuntimeException("closing arena", e);
            }
        }
        if (first != null) throw first;
    }
}
