package io.tune4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BatchSourceTest {
    static final int X = TokenizedExample.IGNORE;

    static TokenizedExample ex(int[] ids, int[] labels) {
        return new TokenizedExample(ids, labels);
    }

    /** Row b of a batch as its own array. */
    static int[] row(int[] a, int b, int seqLen) {
        return Arrays.copyOfRange(a, b * seqLen, (b + 1) * seqLen);
    }

    @Test
    void paddedRowsShiftTargetsAndPad() {
        TokenizedExample a = ex(new int[] {1, 10, 11, 12}, new int[] {X, X, 11, 12});
        PaddedBatchSource src = new PaddedBatchSource(List.of(a), 1, 6, 3, 0);
        assertEquals(1, src.batchesPerEpoch());
        Batch b = src.batch(0, 0);
        assertArrayEquals(new int[] {1, 10, 11, 12, 0, 0}, b.ids());
        assertArrayEquals(new int[] {X, 11, 12, X, X, X}, b.targets());
        assertArrayEquals(new int[] {0, 1, 2, 3, 0, 1}, b.positions());
        assertNull(b.kvStart());
        assertEquals(2, b.targetCount());
    }

    @Test
    void partialLastBatchIsFilledWithPadding() {
        List<TokenizedExample> xs = List.of(ex(new int[] {5, 6}, new int[] {5, 6}), ex(new int[] {7, 8}, new int[] {7, 8}),
                ex(new int[] {9, 4}, new int[] {9, 4}));
        PaddedBatchSource src = new PaddedBatchSource(xs, 2, 3, 1, 2);
        assertEquals(2, src.batchesPerEpoch());
        Batch last = src.batch(0, 1);
        assertArrayEquals(new int[] {2, 2, 2}, row(last.ids(), 1, 3), "pad id 2 (EOS) fills the missing row");
        assertArrayEquals(new int[] {X, X, X}, row(last.targets(), 1, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> src.batch(0, 2));
    }

    @Test
    void packedRowsNeverAttendAcrossExamples() {
        TokenizedExample a = ex(new int[] {1, 2, 3}, new int[] {X, 2, 3});
        TokenizedExample b = ex(new int[] {4, 5}, new int[] {4, 5});
        TokenizedExample c = ex(new int[] {6, 7}, new int[] {X, 7});
        List<PackedRow> rows = Packer.pack(List.of(a, b, c), 4);
        assertEquals(2, rows.size());
        assertArrayEquals(new int[] {1, 2, 3}, rows.get(0).ids());
        assertArrayEquals(new int[] {4, 5, 6, 7}, rows.get(1).ids());
        assertArrayEquals(new int[] {0, 2}, rows.get(1).starts());

        PackedBatchSource src = new PackedBatchSource(List.of(a, b, c), 2, 4, 0, 0);
        Batch batch = src.batch(0, 0);
        int r = batch.ids()[0] == 4 ? 0 : 1; // the row holding b and c
        assertArrayEquals(new int[] {4, 5, 6, 7}, row(batch.ids(), r, 4));
        assertArrayEquals(new int[] {5, X, 7, X}, row(batch.targets(), r, 4), "b's last token does not predict c's first");
        assertArrayEquals(new int[] {0, 1, 0, 1}, row(batch.positions(), r, 4));
        assertArrayEquals(new int[] {0, 0, 2, 2}, row(batch.kvStart(), r, 4));
        int o = 1 - r;
        assertArrayEquals(new int[] {1, 2, 3, 0}, row(batch.ids(), o, 4));
        assertArrayEquals(new int[] {2, 3, X, X}, row(batch.targets(), o, 4));
        assertArrayEquals(new int[] {0, 1, 2, 0}, row(batch.positions(), o, 4));
        assertArrayEquals(new int[] {0, 0, 0, 3}, row(batch.kvStart(), o, 4), "padding attends only to itself");
    }

    @Test
    void packingFillsRowsBestFirst() {
        List<TokenizedExample> xs = new ArrayList<>();
        for (int len : new int[] {5, 3, 2, 4, 1, 1, 6}) {
            int[] ids = new int[len];
            Arrays.fill(ids, len);
            xs.add(ex(ids, ids));
        }
        List<PackedRow> rows = Packer.pack(xs, 6);
        assertEquals(4, rows.size(), "22 tokens fit in 4 rows of 6");
        int total = 0;
        for (PackedRow r : rows) {
            total += r.length();
            for (int k = 0; k < r.starts().length; k++) {
                int from = r.starts()[k], to = k + 1 < r.starts().length ? r.starts()[k + 1] : r.length();
                for (int t = from; t < to; t++) assertEquals(to - from, r.ids()[t], "examples stay whole");
            }
        }
        assertEquals(22, total);
        assertThrows(IllegalArgumentException.class, () -> Packer.pack(xs, 5));
    }

    @Test
    void orderIsDeterministicPerSeedAndEpoch() {
        List<TokenizedExample> xs = new ArrayList<>();
        for (int i = 0; i < 50; i++) xs.add(ex(new int[] {i, i + 100}, new int[] {i, i + 100}));
        PaddedBatchSource a = new PaddedBatchSource(xs, 4, 2, 11, 0), b = new PaddedBatchSource(xs, 4, 2, 11, 0);
        for (int e = 0; e < 3; e++) {
            for (int i = 0; i < a.batchesPerEpoch(); i++) assertArrayEquals(a.batch(e, i).ids(), b.batch(e, i).ids());
        }
        assertArrayEquals(a.batch(1, 3).ids(), a.batch(1, 3).ids());
        assertNotEquals(Arrays.toString(a.order(0)), Arrays.toString(a.order(1)), "each epoch is reshuffled");
        assertNotEquals(Arrays.toString(a.order(0)), Arrays.toString(new PaddedBatchSource(xs, 4, 2, 12, 0).order(0)));
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < a.batchesPerEpoch(); i++) {
            Batch batch = a.batch(2, i);
            for (int r = 0; r < 4; r++) if (batch.ids()[r * 2 + 1] >= 100) seen.add(batch.ids()[r * 2]);
        }
        assertEquals(50, seen.size(), "every example once per epoch");
    }
}
