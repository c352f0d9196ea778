package io.tune4j.ops;

import static io.tune4j.testing.Check.close;

import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.Scalar;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ResidualTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // the last size takes the threaded path
    private static final int[] SIZES = {1, 7, 45, 1001, 70001};

    @ParameterizedTest
    @MethodSource("backends")
    void addMatchesLibtorchIncludingAliasedOutput(Ops ops) {
        Rand rnd = new Rand();
        for (int n : SIZES) {
            String tag = "n=" + n + " " + rnd;
            try (Arena arena = new Arena()) {
                Tensor a = arena.adopt(rnd.tensor(1.0, n));
                Tensor b = arena.adopt(rnd.tensor(1.0, n));
                var ref = TorchRef.of(a, false).add(TorchRef.of(b, false));

                Tensor y = arena.adopt(rnd.tensor(5.0, n));
                ops.add(y, a, b);
                close("add " + tag, y, ref);

                Tensor a2 = arena.adopt(Tensor.of(a.toFloatArray(), n));
                ops.add(a2, a2, b);  // y aliases a
                close("add y=a " + tag, a2, ref);

                Tensor b2 = arena.adopt(Tensor.of(b.toFloatArray(), n));
                ops.add(b2, a, b2);  // y aliases b
                close("add y=b " + tag, b2, ref);

                Tensor c = arena.adopt(Tensor.of(a.toFloatArray(), n));
                ops.add(c, c, c);  // all three the same buffer
                close("add y=a=b " + tag, c, TorchRef.of(a, false).mul(new Scalar(2.0)));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void axpyMatchesLibtorch(Ops ops) {
        Rand rnd = new Rand();
        for (int n : SIZES) {
            for (float alpha : new float[] {1f, -0.37f, 0f}) {
                String tag = "n=" + n + " alpha=" + alpha + " " + rnd;
                try (Arena arena = new Arena()) {
                    Tensor x = arena.adopt(rnd.tensor(1.0, n));
                    Tensor y = arena.adopt(rnd.tensor(1.0, n));
                    var ref = TorchRef.of(y, false).add(TorchRef.of(x, false).mul(new Scalar((double) alpha)));
                    ops.axpy(y, alpha, x);
                    close("axpy " + tag, y, ref);
                }
            }
        }
    }
}
