package io.tune4j.tensor;

/** Element types a tensor can hold. Kernels compute in F32 today; BF16/F16 are storage types. */
public enum DType {
    F32(4), BF16(2), F16(2), I32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
