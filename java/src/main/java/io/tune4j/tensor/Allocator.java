package io.tune4j.tensor;

/**
 * Where an {@link Arena}'s tensors come from: a backend ({@code Ops}) for everything a step touches,
 * or {@link #HOST} for host-only work (data loading, file writing, staging).
 */
public interface Allocator {
    /** Host memory straight from {@link Tensor#allocate}; what an {@code Arena()} uses. */
    Allocator HOST = new Allocator() {
        @Override
        public Device device() {
            return Device.CPU;
        }

        @Override
        public Tensor allocate(DType dtype, long... shape) {
            return Tensor.allocate(dtype, shape);
        }

        @Override
        public void fill(Tensor t, float value) {
            t.fill(value);
        }
    };

    Device device();

    /** An uninitialised tensor, freed on close. */
    Tensor allocate(DType dtype, long... shape);

    /** Every element of an F32 tensor set to value. */
    void fill(Tensor t, float value);

    default Tensor zeros(long... shape) {
        Tensor t = allocate(DType.F32, shape);
        try {
            fill(t, 0f);
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
        return t;
    }
}
