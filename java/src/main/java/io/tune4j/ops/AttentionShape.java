package io.tune4j.ops;

/**
 * Dimensions of one attention call: B sequences of Tq queries against key/value buffers of
 * capacity Tk per sequence, P prefix positions, nh query heads sharing nkv key/value heads.
 */
public record AttentionShape(int B, int Tq, int Tk, int P, int nh, int nkv, int hd) {
    public AttentionShape {
        if (B <= 0 || Tq <= 0 || Tk <= 0 || P < 0 || nh <= 0 || nkv <= 0 || hd <= 0 || nh % nkv != 0) {
            throw new IllegalArgumentException("invalid attention shape " + this);
        }
    }
}
