package io.tune4j.ops;

/** Argument checks shared by the backends for soft-capping (Gemma 2) and norm weight offsets. */
public final class SoftCap {
    private SoftCap() {}

    /** A cap the elementwise op applies: positive and finite. */
    public static float requirePositive(String what, float cap) {
        if (!(cap > 0f) || Float.isInfinite(cap)) {
            throw new IllegalArgumentException(what + ": the cap must be positive and finite, got " + cap);
        }
        return cap;
    }

    /** An optional cap: 0 (none) or positive and finite. */
    public static float requireOptional(String what, float cap) {
        if (cap != 0f) requirePositive(what, cap);
        return cap;
    }

    /** A norm weight offset: finite. */
    public static float requireFiniteOffset(String what, float offset) {
        if (!Float.isFinite(offset)) {
            throw new IllegalArgumentException(what + ": the weight offset must be finite, got " + offset);
        }
        return offset;
    }
}
