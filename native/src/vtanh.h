// Vectorised single-precision tanh for soft-capping (Gemma 2's attention logits and final logits), which
// runs over every score of a tile and every logit of the vocabulary: libm's tanhf does not vectorise.
// |x| < 0.5: the odd Taylor series to x^17 (remainder under 1e-8 relative); otherwise
// sign(x) (1 - 2 / (exp(2|x|) + 1)) with t4j_vexp, where the result is above 0.46 and the subtraction
// loses at most a bit. Accuracy: a few ulp over the whole range; +-1 from |x| >= 9 on.
#ifndef TUNE4J_VTANH_H
#define TUNE4J_VTANH_H

#include <cmath>
#include <cstdint>

#include "vexp.h"

#define T4J_VTANH_SMALL 0.5f
#define T4J_VTANH_C3 (-3.33333333333333333e-1f)
#define T4J_VTANH_C5 1.33333333333333333e-1f
#define T4J_VTANH_C7 (-5.39682539682539683e-2f)
#define T4J_VTANH_C9 2.18694885361552028e-2f
#define T4J_VTANH_C11 (-8.86323552990219658e-3f)
#define T4J_VTANH_C13 3.59212803657248102e-3f
#define T4J_VTANH_C15 (-1.45583438705131827e-3f)
#define T4J_VTANH_C17 5.90027440945585981e-4f

static inline float t4j_vtanh(float x) {
    const float ax = std::fabs(x);
    float r;
    if (ax < T4J_VTANH_SMALL) {
        const float x2 = x * x;
        float p = T4J_VTANH_C17;
        p = p * x2 + T4J_VTANH_C15;
        p = p * x2 + T4J_VTANH_C13;
        p = p * x2 + T4J_VTANH_C11;
        p = p * x2 + T4J_VTANH_C9;
        p = p * x2 + T4J_VTANH_C7;
        p = p * x2 + T4J_VTANH_C5;
        p = p * x2 + T4J_VTANH_C3;
        return x + x * x2 * p;
    }
    r = 1.0f - 2.0f / (t4j_vexp(2.0f * ax) + 1.0f);
    return std::copysign(r, x);
}

#if defined(__AVX2__) && defined(__FMA__)
static inline __m256 t4j_vtanh8(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 ax = _mm256_andnot_ps(sign, x);
    const __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(T4J_VTANH_C17);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T4J_VTANH_C15));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T4J_VTANH_C13));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T4J_VTANH_C11));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T4J_VTANH_C9));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T4J_VTANH_C7));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T4J_VTANH_C5));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T4J_VTANH_C3));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, x2), p, x);
    const __m256 e = t4j_vexp8(_mm256_add_ps(ax, ax));
    const __m256 big = _mm256_sub_ps(_mm256_set1_ps(1.0f),
                                     _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    const __m256 bigs = _mm256_or_ps(big, _mm256_and_ps(sign, x));
    return _mm256_blendv_ps(bigs, small, _mm256_cmp_ps(ax, _mm256_set1_ps(T4J_VTANH_SMALL), _CMP_LT_OQ));
}
#endif

// y[j] = post * tanh(x[j] * mul) for j < n (y may be x).
static inline void t4j_vtanh_scale(float* y, const float* x, int64_t n, float mul, float post) {
    int64_t j = 0;
#if defined(__AVX2__) && defined(__FMA__)
    const __m256 vm = _mm256_set1_ps(mul), vp = _mm256_set1_ps(post);
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(y + j, _mm256_mul_ps(vp, t4j_vtanh8(_mm256_mul_ps(_mm256_loadu_ps(x + j), vm))));
#endif
    for (; j < n; j++) y[j] = post * t4j_vtanh(x[j] * mul);
}

#endif
