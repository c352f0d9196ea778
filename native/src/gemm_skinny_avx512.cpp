// AVX-512 instantiation of the few-row product (gemm_skinny_kernel.h); built with -mavx512f and
// called only after gemm_skinny.cpp has checked the CPU.
#include <immintrin.h>

#include "gemm.h"
#include "gemm_skinny_kernel.h"

namespace t4j {
namespace skinny {
namespace {
struct Avx512 {
    using reg = __m512;
    static constexpr int width = 16;
    // 6 x 4 sums + 4 rows of w + one of x: 29 of 32 registers
    static constexpr int max_rows = 6;
    static constexpr int cols = 4;
    static reg zero() { return _mm512_setzero_ps(); }
    static reg load(const float* p) { return _mm512_loadu_ps(p); }
    static reg load_first(const float* p, int n) {
        return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
    }
    static reg widen(const uint16_t* p) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
    }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    // s[j] = sum of the lanes of aj; pairs are folded within 128-bit lanes first, then the lanes
    static void sum4(float* s, reg a0, reg a1, reg a2, reg a3) {
        reg s01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
        reg s23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
        reg t = _mm512_add_ps(_mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(3, 2, 3, 2)));
        __m256 h = _mm256_add_ps(_mm512_castps512_ps256(t),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)));
        __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        _mm_storeu_ps(s, q);
    }
};
}  // namespace

void gemm_nt_avx512(int M, int N, int K, const float* x, int ldx, const float* w, int ldw, float* y, int ldy) {
    kernel::gemm_nt<Avx512, float>(M, N, K, x, ldx, w, ldw, y, ldy);
}

void gemm_nt_bf16w_avx512(int M, int N, int K, const float* x, int ldx, const uint16_t* w, int ldw, float* y,
                          int ldy) {
    kernel::gemm_nt<Avx512, uint16_t>(M, N, K, x, ldx, w, ldw, y, ldy);
}
}  // namespace skinny
}  // namespace t4j
