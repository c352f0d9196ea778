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

    /** A chosen backend and the one line an auto fallback owes the user (null when there is none). */
    public record Selection(Ops ops, String notice) {
        /** Prints the notice, if any: commands do so once the model has loaded, so an error stays one line. */
        public Ops announce(PrintStream log) {
            if (notice != null) log.println(notice);
            return ops;
        }
    }

    /** The backend this choice names here; {@code cuda} without a usable GPU is an IllegalArgumentException. */
    public Selection select() {
        switch (this) {
            case CPU:
                return new Selection(CpuOps.INSTANCE, null);
            case CUDA:
                if (!CudaOps.isAvailable()) {
                    throw new IllegalArgumentException("--device cuda: no usable GPU: " + CudaOps.unavailableReason());
                }
                return new Selection(CudaOps.instance(), null);
            default:
                if (CudaOps.isAvailable()) return new Selection(CudaOps.instance(), null);
                return new Selection(CpuOps.INSTANCE,
                        "tune4j: --device auto: running on the CPU; " + CudaOps.unavailableReason());
        }
    }

    /** {@link #select} with the notice printed to log at once. */
    public Ops backend(PrintStream log) {
        return select().announce(log);
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
