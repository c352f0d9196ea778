package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.junit.jupiter.api.Test;

/**
 * bf16 decoding weights (packWeightsBf16 / linearForwardPacked) against libtorch in float64 on x and
 * W rounded to bf16: what is left is fp32 summation. Runs on every CPU: with bf16 products they
 * multiply the tiles, without them the weights are widened to fp32 in registers.
 */
class Bf16WeightsTest {
    private final Ops ops = CpuOps.INSTANCE;

    @Test
    void packedBf16WeightsGiveBf16ProductsForAnyRowCount() {
        Rand rnd = new Rand();
        String off = System.getenv("TUNE4J_NO_BF16");
        if (off != null && !off.isEmpty() && !off.equals("0")) {
            // the surefire run that turns bf16 products off must reach the widening kernel
            assertEquals("fp32 FMAs on widened bf16", CpuOps.bf16WeightsUnit());
        }
        // K: neither a multiple of the tiles' 32 k nor of a vector; N: not of the tiles' 16 columns
        for (int[] s : new int[][] {{200, 70}, {7, 5}, {1536, 33}}) {
            int K = s[0], N = s[1];
            try (Arena arena = new Arena()) {
                Tensor w = arena.adopt(rnd.tensor(0.1, N, K));
                Tensor b = arena.adopt(rnd.tensor(0.5, N));
                Tensor packed = ops.packWeightsBf16(w);
                assertNotNull(packed, "bf16 weights on " + CpuOps.bf16WeightsUnit());
                arena.adopt(packed);
                var wr = TorchRef.of(Bf16MatmulTest.rounded(arena, w), false);
                for (int M : new int[] {1, 2, 3, 17, 40, 64, 65}) {  // rows 1-2 stream the tiles, 3+ multiply them
                    Tensor x = arena.adopt(rnd.tensor(1.0, M, K));
                    Tensor y = arena.adopt(rnd.tensor(9.0, M, N));  // overwritten, not accumulated
                    ops.linearForwardPacked(y, x, packed, b, K, N);
                    close("packed bf16 linear " + M + "x" + K + "->" + N + " (" + CpuOps.bf16WeightsUnit() + ") " + rnd, y,
                            TorchRef.of(Bf16MatmulTest.rounded(arena, x), false).matmul(wr.t()).add(TorchRef.of(b, false)));
                }
            }
        }
    }
}
