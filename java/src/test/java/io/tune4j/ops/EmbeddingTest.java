package io.tune4j.ops;

import static io.tune4j.testing.Check.close;
import static io.tune4j.testing.Check.closeAdded;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class EmbeddingTest {
    static java.util.List<Ops> backends() {
        return io.tune4j.testing.Backends.all();
    }

    // {M, V, d}: small vocabularies force repeated ids (the scatter-add race case); the last shape
    // is large enough for the threaded backward
    private static final int[][] SHAPES = {{1, 50, 64}, {7, 5, 33}, {13, 3, 1}, {13, 50, 45}, {300, 17, 257}};

    @ParameterizedTest
    @MethodSource("backends")
    void forwardAndBackwardMatchLibtorch(Ops ops) {
        Rand rnd = new Rand();
        for (int[] s : SHAPES) {
            int M = s[0], V = s[1], d = s[2];
            String tag = "M=" + M + " V=" + V + " d=" + d + " " + rnd;
            try (Arena arena = new Arena()) {
                Tensor ids = arena.adopt(rnd.ids(V, M));
                Tensor table = arena.adopt(rnd.tensor(1.0, V, d));
                Tensor dOut = arena.adopt(rnd.tensor(1.0, M, d));
                Tensor out = arena.adopt(rnd.tensor(5.0, M, d));
                ops.embeddingForward(out, ids, table);

                var tTable = TorchRef.of(table, true);
                var tIds = TorchRef.ofLongs(ids.toIntArray(), M);
                var tOut = torch.embedding(tTable, tIds);
                close("embedding out " + tag, out, tOut);

                Tensor dTable = arena.adopt(rnd.tensor(0.5, V, d));
                var dTable0 = TorchRef.of(dTable, false);
                ops.embeddingBackward(dTable, dOut, ids);
                tOut.backward(TorchRef.of(dOut, false), new BoolOptional(), false, new TensorArrayRefOptional());
                closeAdded("embedding dTable " + tag, dTable, tTable.grad(), dTable0);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void badIdsThrowAndWriteNothing(Ops ops) {
        Rand rnd = new Rand();
        int M = 7, V = 11, d = 33;
        for (int bad : new int[] {-1, V, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            try (Arena arena = new Arena()) {
                int[] idv = rnd.ids(V, M).toIntArray();
                idv[M - 1] = bad;  // the bad id comes last: nothing before it may have been written
                Tensor ids = arena.adopt(Tensor.ofInts(idv, M));
                Tensor table = arena.adopt(rnd.tensor(1.0, V, d));
                Tensor out = arena.adopt(rnd.tensor(1.0, M, d));
                Tensor dOut = arena.adopt(rnd.tensor(1.0, M, d));
                Tensor dTable = arena.adopt(rnd.tensor(1.0, V, d));
                float[] out0 = out.toFloatArray(), dTable0 = dTable.toFloatArray();
                assertThrows(IndexOutOfBoundsException.class, () -> ops.embeddingForward(out, ids, table),
                        "id " + bad);
                assertThrows(IndexOutOfBoundsException.class, () -> ops.embeddingBackward(dTable, dOut, ids),
                        "id " + bad);
                assertArrayEquals(out0, out.toFloatArray(), "forward wrote before rejecting id " + bad);
                assertArrayEquals(dTable0, dTable.toFloatArray(), "backward wrote before rejecting id " + bad);
            }
        }
    }

    @Test
    void cpuOpsReportsBadTokenIdsAsIndexOutOfBounds() {
        // the status-code path end to end through CpuOps: an exception, not a crashed JVM
        try (Arena arena = new Arena()) {
            Tensor ids = arena.adopt(Tensor.ofInts(new int[] {0, 3, 100000}, 3));
            Tensor table = arena.zeros(4, 8);
            Tensor out = arena.zeros(3, 8);
            assertThrows(IndexOutOfBoundsException.class, () -> CpuOps.INSTANCE.embeddingForward(out, ids, table));
            assertThrows(IndexOutOfBoundsException.class, () -> CpuOps.INSTANCE.embeddingBackward(table, out, ids));
        }
    }
}
