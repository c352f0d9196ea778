package io.tune4j.bench;

import java.util.ArrayDeque;
import java.util.Deque;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Tensor;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Base of the libtorch side of a benchmark. Inputs are float32 copies of the same values the
 * tune4j side gets. JavaCPP would otherwise free them only when the GC finds them, so they are
 * released explicitly at tear-down; per-call temporaries go in a PointerScope in the benchmark.
 */
public abstract class TorchState {
    private final Deque<Pointer> owned = new ArrayDeque<>();

    @Setup(Level.Trial)
    public final void configureThreads() {
        Libtorch.setThreads(Env.threads());
    }

    @TearDown(Level.Trial)
    public void release() {
        while (!owned.isEmpty()) owned.pop().close();
    }

    protected <T extends Pointer> T keep(T p) {
        owned.push(p);
        return p;
    }

    protected Tensor floats(float[] values, long... shape) {
        return keep(Libtorch.floats(values, shape));
    }

    protected Tensor normal(long seed, float std, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return floats(Env.normal(seed, n, std), shape);
    }

    /** An autograd leaf whose gradient the benchmark accumulates into. */
    protected Tensor leaf(long seed, float std, long... shape) {
        Tensor t = normal(seed, std, shape);
        t.set_requires_grad(true);
        return t;
    }

    protected Tensor longs(int[] values, long... shape) {
        return keep(Libtorch.longs(values, shape));
    }
}
