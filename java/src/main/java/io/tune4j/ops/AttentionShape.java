package io.tune4j.ops;

/**
 * Dimensions of one attention call: B sequences of Tq queries against key/value buffers of
 * capacity Tk per sequence, P prefix positions, nh query heads sharing nkv key/value heads. A
 * window above 0 is sliding-window attention: a query sees itself and the window-1 real keys before
 * it (the prefix stays visible); 0 means every earlier key.
 */
public record AttentionShape(int B, int Tq, int Tk, int P, int nh, int nkv, int hd, int window) {
    public AttentionShape {
        if (B <= 0 || Tq <= 0 || Tk <= 0 || P < 0 || nh <= 0 || nkv <= 0 || hd <= 0 || nh % nkv != 0 || window < 0) {
            throw new IllegalArgumentException("invalid attention shape " + this);
        }
    }

    /** Full causal attention (no window). */
    public AttentionShape(int B, int Tq, int Tk, int P, int nh, int nkv, int hd) {
        this(B, Tq, Tk, P, nh, nkv, hd, 0);
    }
}
