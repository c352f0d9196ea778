package io.tune4j.ops;

import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.ops.cuda.CudaOps;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Which backend a command runs on ({@code --device auto|cpu|cuda}). {@code auto} takes CUDA when a
 * GPU is visible and otherwise says in one line why it runs on the CPU; {@code cuda} without a
 * usable GPU is an error, never a silent fallback.
 */
public enum DeviceChoice {
    AUTO, CPU, CUDA;

    /** The option value as users write it: auto, cpu or cuda, in any case. */
    public static DeviceChoice parse(String value) {
        if (value != null) {
            for (DeviceChoice c : values()) if (c.name().equalsIgnoreCase(value.trim())) return c;
        }
        throw new IllegalArgumentException("--device: expected auto, cpu or cuda, got '" + value + "'");
    }

    /** The backend this choice names here; log receives the one line of an auto fallback. */
    public Ops backend(PrintStream log) {
        switch (this) {
            case CPU:
                return CpuOps.INSTANCE;
            case CUDA:
                if (!CudaOps.isAvailable()) {
                    throw new IllegalArgumentException("--device cuda: no usable GPU: " + CudaOps.unavailableReason());
                }
                return CudaOps.instance();
            default:
                if (CudaOps.isAvailable()) return CudaOps.instance();
                log.println("tune4j: no usable GPU (" + CudaOps.unavailableReason() + "); running on the CPU");
                return CpuOps.INSTANCE;
        }
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
