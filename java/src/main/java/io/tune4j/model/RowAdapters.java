package io.tune4j.model;

import io.tune4j.ops.Ops;
import io.tune4j.tensor.Tensor;

/**
 * Which adapter slot each row of a decoding step uses (-1: the base model), for projections that
 * serve several LoRA adapters in one batch. Filled once per step by {@link LlamaModel#step}; the
 * native table feeds the op and the host copy lets a projection skip the op when no row needs it.
 */
public final class RowAdapters {
    private final Ops ops;
    private final Tensor table; // I32 [maxRows]
    private final int[] host;
    private int rows;
    private boolean any;

    RowAdapters(Ops ops, Tensor table, int maxRows) {
        this.ops = ops;
        this.table = table;
        this.host = new int[maxRows];
    }

    /** I32 [rows()] row to slot table for the op. */
    public Tensor table() {
        return table;
    }

    public int rows() {
        return rows;
    }

    public int slot(int row) {
        return host[row];
    }

    /** Whether any row of this step uses an adapter. */
    public boolean any() {
        return any;
    }

    /** Whether some row of this step uses one of the slots marked in used. */
    public boolean usesAny(boolean[] used) {
        if (!any) return false;
        for (int i = 0; i < rows; i++) {
            int s = host[i];
            if (s >= 0 && s < used.length && used[s]) return true;
        }
        return false;
    }

    void set(int[] slots, int rows) {
        this.rows = rows;
        boolean a = false;
        for (int i = 0; i < rows; i++) {
            host[i] = slots == null ? -1 : slots[i];
            a |= host[i] >= 0;
        }
        any = a;
        // the whole table: entries past rows are stale and never read, and no per-step array is made
        ops.write(table, host);
    }
}
