package io.tune4j.tensor;

/** Where a tensor's memory lives. */
public enum Device {
    CPU, CUDA
}
