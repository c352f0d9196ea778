package io.tune4j.ops;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Tensors too small for the dimensions an op is given are refused before native code runs. */
class OpsArgumentCheckTest {
    final Ops ops = CpuOps.INSTANCE;

    @Test
    void undersizedOrWrongTypedTensorsAreRefused() {
        try (Arena a = new Arena()) {
            Tensor x = a.f32(4, 8), w = a.f32(6, 8), small = a.f32(3), ids = a.i32(4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ops.linearForward(small, x, w, null, 4, 8, 6));
            assertTrue(e.getMessage().contains("linear y"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ops.embeddingForward(x, x, w, 4, 6, 8));
            assertThrows(IllegalArgumentException.class, () -> ops.rmsnormForward(x, small, x, w, 4, 8, 1e-5f));
            assertThrows(IllegalArgumentException.class, () -> ops.swigluForward(small, x, x, 32));
            AttentionShape s = new AttentionShape(1, 4, 4, 2, 2, 1, 4);
            assertThrows(IllegalArgumentException.class,
                    () -> ops.attentionForward(x, a.f32(8), x, a.f32(16), a.f32(16), null, null, null, null, s,
                            a.f32(ops.attentionWorkspaceFloats(s))));
            assertThrows(IllegalArgumentException.class, () -> ops.crossEntropy(a.f32(4), x, ids, 4, 9, 1f));
        }
    }
}
