package io.tune4j.bench;

import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Base of the tune4j side of a benchmark: every tensor it makes lives in one arena that is
 * closed at tear-down, so a fork leaves no native memory behind between trials.
 */
public abstract class OursState {
    protected final Arena arena = new Arena();
    protected final Ops ops = CpuOps.INSTANCE;

    @Setup(Level.Trial)
    public final void configureThreads() {
        NativeLib.t4j_set_num_threads(Env.threads());
        ops.setMatmulPrecision(Env.precision());
    }

    @TearDown(Level.Trial)
    public void release() {
        arena.close();
    }

    protected Tensor floats(float[] values, long... shape) {
        return arena.adopt(Tensor.of(values, shape));
    }

    protected Tensor normal(long seed, float std, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return floats(Env.normal(seed, n, std), shape);
    }

    protected Tensor ints(int[] values, long... shape) {
        return arena.adopt(Tensor.ofInts(values, shape));
    }

    protected Tensor zeros(long... shape) {
        return arena.zeros(shape);
    }
}
