// Vectorised single-precision exp for the softmax-style ops (attention, cross-entropy, sampling).
// std::exp does not vectorise without -ffast-math, and a scalar polynomial with clamps does not either
// under the default -ftrapping-math (GCC keeps its selects as branches), so the array form below uses
// AVX2/FMA intrinsics (the build targets x86-64-v3) with the same scalar formula for tails.
// Accuracy: under 1e-7 relative over the whole range, far inside the 1e-5 the ops are held to.
#ifndef TUNE4J_VEXP_H
#define TUNE4J_VEXP_H

#include <cstdint>
#include <cstring>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

// exp(x) = 2^n * exp(r), n = round(x / ln2), |r| <= ln2/2, with ln2 split in two so r is exact;
// exp(r) = 1 + r + r^2 * P(r), P a degree-5 minimax fit. Results below exp(-87) (< FLT_MIN) flush to 0,
// so a -inf score contributes exactly nothing.
#define T4J_VEXP_C1 0.693359375f
#define T4J_VEXP_C2 -2.12194440e-4f
#define T4J_VEXP_P0 1.9875691500e-4f
#define T4J_VEXP_P1 1.3981999507e-3f
#define T4J_VEXP_P2 8.3334519073e-3f
#define T4J_VEXP_P3 4.1665795894e-2f
#define T4J_VEXP_P4 1.6666665459e-1f
#define T4J_VEXP_P5 5.0000001201e-1f

static inline float t4j_vexp(float x) {
    if (!(x >= -87.0f)) return 0.0f;  // also NaN -> 0, matching the vector path
    float xc = x > 88.0f ? 88.0f : x;
    float n = static_cast<float>(static_cast<int32_t>(xc * 1.44269504088896341f + (xc >= 0 ? 0.5f : -0.5f)));
    float r = xc - n * T4J_VEXP_C1;
    r = r - n * T4J_VEXP_C2;
    float p = T4J_VEXP_P0;
    p = p * r + T4J_VEXP_P1;
    p = p * r + T4J_VEXP_P2;
    p = p * r + T4J_VEXP_P3;
    p = p * r + T4J_VEXP_P4;
    p = p * r + T4J_VEXP_P5;
    float y = p * r * r + r + 1.0f;
    int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

#if defined(__AVX2__) && defined(__FMA__)
static inline __m256 t4j_vexp8(__m256 x) {
    __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GE_OQ);
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(T4J_VEXP_C1), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(T4J_VEXP_C2), r);
    __m256 p = _mm256_set1_ps(T4J_VEXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(T4J_VEXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(T4J_VEXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(T4J_VEXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(T4J_VEXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(T4J_VEXP_P5));
    __m256 y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(bits)), keep);
}
#endif

// e_j = exp((x[j] - sub) * mul) for j < n; stores e_j * post into y[j] when y is not NULL (y may be x)
// and returns the sum of the e_j (float lanes, then double across lanes).
static inline double t4j_vexp_sum(float* y, const float* x, int64_t n, float sub, float mul, float post) {
    int64_t j = 0;
    double total = 0.0;
#if defined(__AVX2__) && defined(__FMA__)
    __m256 acc = _mm256_setzero_ps();
    const __m256 vs = _mm256_set1_ps(sub), vm = _mm256_set1_ps(mul), vp = _mm256_set1_ps(post);
    for (; j + 8 <= n; j += 8) {
        __m256 e = t4j_vexp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vs), vm));
        acc = _mm256_add_ps(acc, e);
        if (y) _mm256_storeu_ps(y + j, _mm256_mul_ps(e, vp));
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    for (int i = 0; i < 8; i++) total += lanes[i];
#endif
    for (; j < n; j++) {
        float e = t4j_vexp((x[j] - sub) * mul);
        total += e;
        if (y) y[j] = e * post;
    }
    return total;
}

#endif
