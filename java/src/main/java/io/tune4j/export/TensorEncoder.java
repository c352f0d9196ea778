package io.tune4j.export;

import java.nio.ByteBuffer;

/**
 * F32 values to a GGUF tensor type, into a little-endian buffer. f16 and bf16 round to nearest
 * even as PyTorch's casts do; q8_0 is ggml's reference quantiser: per block of 32 a f16 scale
 * d = max|x| / 127 and int8 q = round(x / d).
 */
public final class TensorEncoder {
    private TensorEncoder() {}

    /** Encodes src[from, from + n) as type; n must be a multiple of the type's block size. */
    public static void encode(float[] src, int from, int n, GgufType type, ByteBuffer out) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < n; i++) out.putFloat(src[from + i]);
            }
            case F16 -> {
                for (int i = 0; i < n; i++) out.putShort(toHalf(src[from + i]));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) out.putShort(toBfloat16(src[from + i]));
            }
            case Q8_0 -> {
                for (int b = 0; b < n; b += 32) quantizeQ8Block(src, from + b, out);
            }
        }
    }

    static void quantizeQ8Block(float[] x, int off, ByteBuffer out) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[off + i]));
        float d = amax / 127f;
        float inv = d != 0 ? 1f / d : 0f;
        out.putShort(toHalf(d));
        for (int i = 0; i < 32; i++) out.put((byte) Math.round(x[off + i] * inv));
    }

    /** IEEE binary16, round to nearest even; overflow to infinity, NaN stays NaN. */
    public static short toHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));
        int e = exp - 127 + 15;
        if (e >= 0x1f) return (short) (sign | 0x7c00);
        if (e <= 0) {
            if (e < -10) return (short) sign;
            // subnormal: shift the implicit-one mantissa into place, rounding half to even
            int m = mant | 0x800000;
            int shift = 14 - e;
            int half = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) half++;
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        // a carry out of the mantissa correctly bumps the exponent (up to infinity)
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) half++;
        return (short) (sign | half);
    }

    public static float fromHalf(short h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            if (mant == 0) return Float.intBitsToFloat(sign);
            float v = mant / 1024f / 16384f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    public static short toBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40);  // quiet NaN
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
