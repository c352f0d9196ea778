// Rotary position embeddings, Hugging Face rotate-half layout: element i pairs with i + hd/2.
// The table is built once per model; forward and backward are in-place rotations of q/k and of their
// gradients, so they cost one read and one write of the activation.
#include "tune4j.h"

#include <cmath>

// Frequency of column i after the configured scaling (double: see t4j_rope_table).
static double rope_inv_freq(int i, int hd, float theta, int scaling, float factor, float low_freq_factor,
                            float high_freq_factor, int original_max_pos) {
    double inv = std::pow(static_cast<double>(theta), -2.0 * i / hd);
    if (scaling == T4J_ROPE_LLAMA3) {
        // Llama 3.1: wavelengths longer than original/low_freq_factor are stretched by `factor`, those
        // shorter than original/high_freq_factor are kept, and the band between blends the two.
        const double two_pi = 6.283185307179586476925;
        double wavelen = two_pi / inv;
        double orig = static_cast<double>(original_max_pos);
        if (wavelen > orig / low_freq_factor) {
            inv = inv / factor;
        } else if (!(wavelen < orig / high_freq_factor)) {
            double smooth = (orig / wavelen - low_freq_factor) / (static_cast<double>(high_freq_factor) - low_freq_factor);
            inv = (1.0 - smooth) * inv / factor + smooth * inv;
        }
    } else if (scaling == T4J_ROPE_LINEAR) {
        inv = inv / factor;  // positions / factor, folded into the frequency
    }
    return inv;
}

void t4j_rope_table(float* cos, float* sin, int max_pos, int hd, float theta, int scaling, float factor,
                    float low_freq_factor, float high_freq_factor, int original_max_pos) {
    const int half = hd / 2;
    // By column: the frequency is computed once per column, and angles (up to max_pos * inv_freq,
    // thousands of radians) are formed and reduced in double so late positions keep full fp32 accuracy.
#pragma omp parallel for schedule(static)
    for (int i = 0; i < half; i++) {
        double inv = rope_inv_freq(i, hd, theta, scaling, factor, low_freq_factor, high_freq_factor, original_max_pos);
        for (int p = 0; p < max_pos; p++) {
            double a = static_cast<double>(p) * inv;
            cos[static_cast<int64_t>(p) * half + i] = static_cast<float>(std::cos(a));
            sin[static_cast<int64_t>(p) * half + i] = static_cast<float>(std::sin(a));
        }
    }
}

// Positions are validated before any row is touched, so a bad batch leaves x unmodified.
static int rope_check(const int32_t* pos, int M, int hd, int max_pos) {
    if (M < 0 || hd <= 0 || (hd & 1)) return T4J_EINVAL;
    for (int m = 0; m < M; m++)
        if (pos[m] < 0 || pos[m] >= max_pos) return T4J_ERANGE;
    return T4J_OK;
}

// Rotates every head of every row by +angle (sign = 1) or -angle (sign = -1).
static void rope_rotate(float* x, const int32_t* pos, const float* cos, const float* sin, int M, int nh, int hd,
                        float sign) {
    const int half = hd / 2;
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(M) * nh * hd > 32768)
    for (int m = 0; m < M; m++) {
        const float* c = cos + static_cast<int64_t>(pos[m]) * half;
        const float* s = sin + static_cast<int64_t>(pos[m]) * half;
        for (int h = 0; h < nh; h++) {
            float* x1 = x + (static_cast<int64_t>(m) * nh + h) * hd;
            float* x2 = x1 + half;
#pragma omp simd
            for (int i = 0; i < half; i++) {
                float a = x1[i], b = x2[i], si = sign * s[i];
                x1[i] = a * c[i] - b * si;
                x2[i] = b * c[i] + a * si;
            }
        }
    }
}

int t4j_rope_fwd(float* x, const int32_t* pos, const float* cos, const float* sin, int M, int nh, int hd, int max_pos) {
    int rc = rope_check(pos, M, hd, max_pos);
    if (rc != T4J_OK) return rc;
    rope_rotate(x, pos, cos, sin, M, nh, hd, 1.0f);
    return T4J_OK;
}

// The rotation is orthogonal, so the input gradient is the output gradient rotated back (R^T = R(-angle)).
// Unlike the other backward ops this one does not accumulate: it transforms dx in place (dy in, dx out),
// which is what the attention block needs since dq/dk are private to it and already summed.
int t4j_rope_bwd(float* dx, const int32_t* pos, const float* cos, const float* sin, int M, int nh, int hd, int max_pos) {
    int rc = rope_check(pos, M, hd, max_pos);
    if (rc != T4J_OK) return rc;
    rope_rotate(dx, pos, cos, sin, M, nh, hd, -1.0f);
    return T4J_OK;
}
