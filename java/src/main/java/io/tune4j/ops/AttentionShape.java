package io.tune4j.ops;

/**
 * Dimensions of one attention call: B sequences of Tq queries against key/value buffers of
 * capacity Tk per sequence, P prefix positions, nh query heads sharing nkv key/value heads. A
 * window above 0 is sliding-window attention: a query sees itself and the window-1 real keys before
 * it (the prefix stays visible); 0 means every earlier key. Scores are {@code scale * q.k} (positive and
 * finite; 1/sqrt(hd) unless a model says otherwise, e.g. Gemma's query_pre_attn_scalar^-0.5); a softcap
 * above 0 (Gemma 2) turns them into {@code softcap * tanh(s / softcap)} before the mask and softmax, 0 means
 * none.
 */
public record AttentionShape(int B, int Tq, int Tk, int P, int nh, int nkv, int hd, int window, float scale,
                             float softcap) {
    public AttentionShape {
        if (B <= 0 || Tq <= 0 || Tk <= 0 || P < 0 || nh <= 0 || nkv <= 0 || hd <= 0 || nh % nkv != 0 || window < 0
                || !(scale > 0f) || Float.isInfinite(scale) || !(softcap >= 0f) || Float.isInfinite(softcap)) {
            throw new IllegalArgumentException("invalid attention shape " + this);
        }
    }

    /** Scale 1/sqrt(hd), no soft cap. */
    public AttentionShape(int B, int Tq, int Tk, int P, int nh, int nkv, int hd, int window) {
        this(B, Tq, Tk, P, nh, nkv, hd, window, defaultScale(hd), 0f);
    }

    /** Full causal attention (no window), scale 1/sqrt(hd), no soft cap. */
    public AttentionShape(int B, int Tq, int Tk, int P, int nh, int nkv, int hd) {
        this(B, Tq, Tk, P, nh, nkv, hd, 0);
    }

    /** 1/sqrt(hd) rounded once to float, the scale the kernels used before it became a parameter. */
    public static float defaultScale(int hd) {
        return (float) (1.0 / Math.sqrt(hd));
    }
}
