package io.tune4j.ops;

import io.tune4j.tensor.Tensor;

/**
 * Argument checks shared by the backends for {@link Ops#copyColumns}: the shapes, the column block and
 * overlap. The device and dtype are {@link OpChecks#copyColumns}'s part.
 */
public final class ColumnCopy {
    private ColumnCopy() {}

    /** Throws IllegalArgumentException naming the offending argument unless the copy is well formed. */
    public static void check(Tensor dst, int dstCol, Tensor src, int srcCol, int rows, int cols) {
        matrix("dst", dst);
        matrix("src", src);
        if (rows < 0) throw new IllegalArgumentException("copyColumns rows: must be >= 0, got " + rows);
        if (cols < 0) throw new IllegalArgumentException("copyColumns cols: must be >= 0, got " + cols);
        if (dstCol < 0) throw new IllegalArgumentException("copyColumns dstCol: must be >= 0, got " + dstCol);
        if (srcCol < 0) throw new IllegalArgumentException("copyColumns srcCol: must be >= 0, got " + srcCol);
        if ((long) dstCol + cols > dst.dim(1)) {
            throw new IllegalArgumentException("copyColumns dstCol + cols: columns [" + dstCol + ", " + ((long) dstCol + cols)
                    + ") lie beyond dst's width " + dst.dim(1) + " (" + dst + ")");
        }
        if ((long) srcCol + cols > src.dim(1)) {
            throw new IllegalArgumentException("copyColumns srcCol + cols: columns [" + srcCol + ", " + ((long) srcCol + cols)
                    + ") lie beyond src's width " + src.dim(1) + " (" + src + ")");
        }
        if (rows > dst.dim(0)) {
            throw new IllegalArgumentException("copyColumns rows: " + rows + " rows, dst has " + dst.dim(0) + " (" + dst + ")");
        }
        if (rows > src.dim(0)) {
            throw new IllegalArgumentException("copyColumns rows: " + rows + " rows, src has " + src.dim(0) + " (" + src + ")");
        }
        if (rows > 0 && cols > 0 && dst.device() == src.device() && dst.address() < src.address() + src.bytes()
                && src.address() < dst.address() + dst.bytes()) {
            throw new IllegalArgumentException("copyColumns: dst " + dst + " and src " + src + " overlap in memory");
        }
    }

    private static void matrix(String what, Tensor t) {
        if (t == null) throw new IllegalArgumentException("copyColumns " + what + ": required, got null");
        if (t.rank() != 2) {
            throw new IllegalArgumentException("copyColumns " + what + ": expected a 2-D matrix [rows, width], got " + t
                    + " (view it as 2-D)");
        }
    }
}
