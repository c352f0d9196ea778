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

    /**
     * A chosen backend, the one line an auto fallback owes the user (null when there is none), and whether
     * the choice was auto's, which may still move to the CPU where the GPU cannot do the work.
     */
    public record Selection(Ops ops, String notice, boolean auto) {
        /** A backend the caller chose itself. */
        public static Selection of(Ops ops) {
            return new Selection(ops, null, false);
        }

        /** Prints the notice, if any: commands do so once the model has loaded, so an error stays one line. */
        public Ops announce(PrintStream log) {
            if (notice != null) log.println(notice);
            return ops;
        }

        /**
         * This selection for work the CUDA backend cannot do (why says what): auto moves to the CPU with a
         * notice, an explicit CUDA backend is refused with a one-line IllegalArgumentException.
         */
        public Selection withoutCuda(String why) {
            if (ops.device() != io.tune4j.tensor.Device.CUDA) return this;
            if (auto) return onCpu(why);
            throw new IllegalArgumentException("CUDA: " + why + "; run it on the CPU (--device cpu)");
        }

        /** Auto's CPU fallback, saying why. */
        public Selection onCpu(String why) {
            return new Selection(CpuOps.INSTANCE, "tune4j: --device auto: running on the CPU; " + why, auto);
        }
    }

    /** The backend this choice names here; {@code cuda} without a usable GPU is an IllegalArgumentException. */
    public Selection select() {
        switch (this) {
            case CPU:
                return Selection.of(CpuOps.INSTANCE);
            case CUDA:
                if (!CudaOps.isAvailable()) {
                    throw new IllegalArgumentException("--device cuda: no usable GPU: " + CudaOps.unavailableReason());
                }
                return Selection.of(CudaOps.instance());
            default:
                if (CudaOps.isAvailable()) return new Selection(CudaOps.instance(), null, true);
                return new Selection(CpuOps.INSTANCE, null, true).onCpu(CudaOps.unavailableReason());
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
