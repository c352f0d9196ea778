// Dense linear layer y = x.w^T (+ b). The matrix products go through t4j::gemm (OpenBLAS, or AMX
// under bf16 precision); beta=1 is what makes the backward accumulate into existing gradients
// without a temporary.
#include "tune4j.h"

#include "gemm.h"

namespace {
// y = b (or 0) row by row, so one product with beta=1 finishes the job; also a correct y when K == 0.
void seed_rows(float* y, const float* b, int M, int N) {
    const int64_t total = static_cast<int64_t>(M) * N;
#pragma omp parallel for schedule(static) if (total > 65536)
    for (int i = 0; i < M; i++) {
        float* yi = y + static_cast<int64_t>(i) * N;
        if (b) {
#pragma omp simd
            for (int j = 0; j < N; j++) yi[j] = b[j];
        } else {
#pragma omp simd
            for (int j = 0; j < N; j++) yi[j] = 0.0f;
        }
    }
}
}  // namespace

void t4j_linear_fwd(float* y, const float* x, const float* w, const float* b, int M, int K, int N) {
    if (M <= 0 || N <= 0) return;
    if (!b && K > 0) {
        t4j::gemm(false, true, M, N, K, 1.0f, x, K, w, K, 0.0f, y, N);
        return;
    }
    seed_rows(y, b, M, N);
    if (K <= 0) return;
    t4j::gemm(false, true, M, N, K, 1.0f, x, K, w, K, 1.0f, y, N);
}

// bf16 decoding weights: the bf16 products' tiles where the CPU has them (AMX, AVX512-BF16), else
// W's own row-major layout in bf16, which the few-row kernel widens to fp32 in registers. Either way
// x is rounded to bf16 first, so the two layouts compute the same products up to summation order.
int64_t t4j_linear_packed_bf16_elems(int K, int N) {
    if (K <= 0 || N <= 0) return 0;
    return t4j::amx::available() ? t4j::amx::packed_b_elems(K, N) : static_cast<int64_t>(N) * K;
}

void t4j_linear_pack_bf16(uint16_t* dst, const float* w, int K, int N) {
    if (K <= 0 || N <= 0) return;
    if (t4j::amx::available()) {
        t4j::amx::pack_b(dst, true, K, N, w, K);
    } else {
        t4j_f32_to_bf16(dst, w, static_cast<int64_t>(N) * K);
    }
}

namespace {
thread_local t4j::Scratch tl_rounded_x;

int fwd_rows_bf16(float* y, const float* x, const uint16_t* wp, const float* b, int M, int K, int N) {
    const int64_t n = static_cast<int64_t>(M) * K;
    // x rounded to bf16 and widened back: the bf16 halves in front, the fp32 values after them
    char* buf = static_cast<char*>(tl_rounded_x.get(n * 6 + 64));
    if (!buf) return T4J_ENOMEM;
    uint16_t* h = reinterpret_cast<uint16_t*>(buf);
    float* xr = reinterpret_cast<float*>(buf + ((n * 2 + 63) & ~int64_t{63}));
    t4j_f32_to_bf16(h, x, n);
    t4j_bf16_to_f32(xr, h, n);
    seed_rows(y, b, M, N);
    t4j::skinny::gemm_nt_bf16w(M, N, K, xr, K, wp, K, y, N);
    return T4J_OK;
}
}  // namespace

int t4j_linear_fwd_packed_bf16(float* y, const float* x, const uint16_t* wp, const float* b, int M, int K, int N) {
    if (M <= 0 || N <= 0) return T4J_OK;
    if (K <= 0) return T4J_EINVAL;
    if (!t4j::amx::available()) return fwd_rows_bf16(y, x, wp, b, M, K, N);
    const bool ok = M <= 2 ? t4j::amx::gemv_packed_b(M, x, K, K, N, wp, y, N)
                           : t4j::amx::gemm_packed_b(false, M, N, K, 1.0f, x, K, wp, 0.0f, y, N);
    if (!ok) return T4J_ENOMEM;
    if (b) t4j::add_rows(y, b, M, N);
    return T4J_OK;
}

void t4j_linear_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w,
                    int M, int K, int N) {
    if (M <= 0 || N <= 0) return;
    if (K > 0) {
        // dx[M,K] += dy[M,N] . w[N,K]
        if (dx) t4j::gemm(false, false, M, K, N, 1.0f, dy, N, w, K, 1.0f, dx, K);
        // dw[N,K] += dy^T . x
        if (dw) t4j::gemm(true, false, N, K, M, 1.0f, dy, N, x, K, 1.0f, dw, K);
    }
    if (db) {
        // Column sums of dy. Threads own disjoint column blocks, so no two write the same db element,
        // and each block walks rows in order: the result does not depend on the thread count.
        const int64_t total = static_cast<int64_t>(M) * N;
#pragma omp parallel for schedule(static) if (total > 65536)
        for (int j0 = 0; j0 < N; j0 += 64) {
            const int j1 = j0 + 64 < N ? j0 + 64 : N;
            double acc[64] = {0};
            for (int i = 0; i < M; i++) {
                const float* dyi = dy + static_cast<int64_t>(i) * N;
#pragma omp simd
                for (int j = j0; j < j1; j++) acc[j - j0] += dyi[j];
            }
            for (int j = j0; j < j1; j++) db[j] += static_cast<float>(acc[j - j0]);
        }
    }
}
