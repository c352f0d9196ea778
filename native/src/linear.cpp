// Dense linear layer y = x.w^T (+ b). The matrix products go through t4j::gemm (OpenBLAS, or AMX
// under bf16 precision); beta=1 is what makes the backward accumulate into existing gradients
// without a temporary.
#include "tune4j.h"

#include <cblas.h>

#include "gemm.h"

void t4j_linear_fwd(float* y, const float* x, const float* w, const float* b, int M, int K, int N) {
    if (M <= 0 || N <= 0) return;
    // Seed y with the bias (or zero) so a single sgemm with beta=1 finishes the job; this also
    // leaves a correct y when K == 0, where sgemm would not be called at all.
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
    if (K <= 0) return;
    t4j::gemm(false, true, M, N, K, 1.0f, x, K, w, K, 1.0f, y, N);
}

int64_t t4j_linear_packed_bf16_elems(int K, int N) {
    if (K <= 0 || N <= 0 || !t4j::amx::available()) return 0;
    return t4j::amx::packed_b_elems(K, N);
}

void t4j_linear_pack_bf16(uint16_t* dst, const float* w, int K, int N) {
    if (K > 0 && N > 0 && t4j::amx::available()) t4j::amx::pack_b(dst, true, K, N, w, K);
}

int t4j_linear_fwd_packed_bf16(float* y, const float* x, const uint16_t* wp, const float* b, int M, int K, int N) {
    if (M <= 0 || N <= 0) return T4J_OK;
    if (K <= 0 || !t4j::amx::available()) return T4J_EINVAL;
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
