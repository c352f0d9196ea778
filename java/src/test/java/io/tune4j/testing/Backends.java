package io.tune4j.testing;

import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.ops.cuda.CudaOps;
import java.util.ArrayList;
import java.util.List;

/**
 * The backends every op test runs against: the CPU always, CUDA when a GPU is present. One suite,
 * every backend (use with {@code @MethodSource("io.tune4j.testing.Backends#all")}). Op tests build
 * host tensors; the CUDA backend is wrapped in {@link HostStaging} so they stay unchanged.
 */
public final class Backends {
    private Backends() {}

    public static List<Ops> all() {
        List<Ops> out = new ArrayList<>();
        out.add(CpuOps.INSTANCE);
        if (CudaOps.isAvailable()) out.add(HostStaging.wrap(CudaOps.instance()));
        return out;
    }
}
