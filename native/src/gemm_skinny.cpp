// The few-row product used by decoding (gemm.h, skinny::gemm_nt): AVX-512 where the CPU has it,
// else the AVX2 build of the same kernel (the library's baseline is x86-64-v3).
#include <cpuid.h>
#include <immintrin.h>

#include "gemm.h"
#include "gemm_skinny_kernel.h"

namespace t4j {
namespace skinny {
void gemm_nt_avx512(int M, int N, int K, const float* x, int ldx, const float* w, int ldw, float* y, int ldy);
void gemm_nt_bf16w_avx512(int M, int N, int K, const float* x, int ldx, const uint16_t* w, int ldw, float* y,
                          int ldy);

namespace {
struct Avx2 {
    using reg = __m256;
    static constexpr int width = 8;
    // 4 x 3 sums + 3 rows of w + one of x: all 16 registers
    static constexpr int max_rows = 4;
    static constexpr int cols = 3;
    static reg zero() { return _mm256_setzero_ps(); }
    static reg load(const float* p) { return _mm256_loadu_ps(p); }
    static reg load_first(const float* p, int n) {
        alignas(32) static const int32_t ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
        return _mm256_maskload_ps(p, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ones + 8 - n)));
    }
    static reg widen(const uint16_t* p) {
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
    }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    static void sum4(float* s, reg a0, reg a1, reg a2, reg a3) {
        reg s01 = _mm256_add_ps(_mm256_unpacklo_ps(a0, a1), _mm256_unpackhi_ps(a0, a1));
        reg s23 = _mm256_add_ps(_mm256_unpacklo_ps(a2, a3), _mm256_unpackhi_ps(a2, a3));
        reg t = _mm256_add_ps(_mm256_shuffle_ps(s01, s23, _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm256_shuffle_ps(s01, s23, _MM_SHUFFLE(3, 2, 3, 2)));
        _mm_storeu_ps(s, _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
    }
};

bool has_avx512() {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return b >> 16 & 1;  // AVX512F
}

template <class WT, class Wide>
void dispatch(Wide wide_fn, int M, int N, int K, const float* x, int ldx, const WT* w, int ldw, float* y, int ldy) {
    if (M <= 0 || N <= 0 || K <= 0) return;
    static const bool wide = has_avx512();
    if (wide) {
        wide_fn(M, N, K, x, ldx, w, ldw, y, ldy);
    } else {
        kernel::gemm_nt<Avx2, WT>(M, N, K, x, ldx, w, ldw, y, ldy);
    }
}
}  // namespace

void gemm_nt(int M, int N, int K, const float* x, int ldx, const float* w, int ldw, float* y, int ldy) {
    dispatch(gemm_nt_avx512, M, N, K, x, ldx, w, ldw, y, ldy);
}

void gemm_nt_bf16w(int M, int N, int K, const float* x, int ldx, const uint16_t* w, int ldw, float* y, int ldy) {
    dispatch(gemm_nt_bf16w_avx512, M, N, K, x, ldx, w, ldw, y, ldy);
}
}  // namespace skinny
}  // namespace t4j
