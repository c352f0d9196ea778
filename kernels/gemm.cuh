// The tiled fp32 GEMM shared by gemm.cu and lora.cu. A 64x64 output tile per block of 256 threads,
// 4x4 outputs per thread held in registers, K consumed 16 at a time through shared memory.
// Operands are loaded so that consecutive threads read consecutive addresses whichever way each
// matrix is stored. The dropout hook applies the LoRA dropout mask to one operand while it is
// loaded (or to the product in the epilogue), so drop(x) never exists in memory.
#pragma once

#include "common.cuh"

namespace t4jc {

enum DropAt { DROP_NONE = 0, DROP_A = 1, DROP_B = 2, DROP_C = 3 };

constexpr int GBM = 64, GBN = 64, GBK = 16, GTHREADS = 256;

// drop_ld: row stride of the stored matrix the mask belongs to (element index = row*drop_ld + col).
template <bool TA, bool TB, int DROP>
__global__ void __launch_bounds__(GTHREADS) gemm_kernel(int M, int N, int K, float alpha, const float* __restrict__ A,
                                                        int lda, const float* __restrict__ B, int ldb, float beta,
                                                        float* C, int ldc, Dropout drop, int64_t drop_ld) {
    __shared__ float As[GBK][GBM + 4];
    __shared__ float Bs[GBK][GBN + 4];
    const int tid = threadIdx.x;
    const int m0 = blockIdx.y * GBM, n0 = blockIdx.x * GBN;
    const int tr = (tid / 16) * 4, tc = (tid % 16) * 4;  // this thread's 4x4 corner in the tile
    float acc[4][4] = {};

    for (int k0 = 0; k0 < K; k0 += GBK) {
#pragma unroll
        for (int l = 0; l < (GBM * GBK) / GTHREADS; l++) {
            int idx = tid + l * GTHREADS;
            int i, k;
            if (TA) { i = idx % GBM; k = idx / GBM; } else { k = idx % GBK; i = idx / GBK; }
            int gi = m0 + i, gk = k0 + k;
            float v = 0.0f;
            if (gi < M && gk < K) {
                int64_t off = TA ? (int64_t)gk * lda + gi : (int64_t)gi * lda + gk;
                v = A[off];
                if (DROP == DROP_A) v = drop.apply(v, TA ? (int64_t)gk * drop_ld + gi : (int64_t)gi * drop_ld + gk);
            }
            As[k][i] = v;
        }
#pragma unroll
        for (int l = 0; l < (GBN * GBK) / GTHREADS; l++) {
            int idx = tid + l * GTHREADS;
            int j, k;
            if (TB) { k = idx % GBK; j = idx / GBK; } else { j = idx % GBN; k = idx / GBN; }
            int gj = n0 + j, gk = k0 + k;
            float v = 0.0f;
            if (gj < N && gk < K) {
                int64_t off = TB ? (int64_t)gj * ldb + gk : (int64_t)gk * ldb + gj;
                v = B[off];
                if (DROP == DROP_B) v = drop.apply(v, TB ? (int64_t)gj * drop_ld + gk : (int64_t)gk * drop_ld + gj);
            }
            Bs[k][j] = v;
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < GBK; k++) {
            float a[4], b[4];
#pragma unroll
            for (int x = 0; x < 4; x++) a[x] = As[k][tr + x];
#pragma unroll
            for (int y = 0; y < 4; y++) b[y] = Bs[k][tc + y];
#pragma unroll
            for (int x = 0; x < 4; x++)
#pragma unroll
                for (int y = 0; y < 4; y++) acc[x][y] = fmaf(a[x], b[y], acc[x][y]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int x = 0; x < 4; x++) {
        int gi = m0 + tr + x;
        if (gi >= M) continue;
#pragma unroll
        for (int y = 0; y < 4; y++) {
            int gj = n0 + tc + y;
            if (gj >= N) continue;
            float v = acc[x][y];
            if (DROP == DROP_C) v = drop.apply(v, (int64_t)gi * drop_ld + gj);
            float* c = C + (int64_t)gi * ldc + gj;
            *c = beta == 0.0f ? alpha * v : fmaf(alpha, v, beta * *c);
        }
    }
}

template <int DROP>
int gemm_launch(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                float beta, float* C, int ldc, Dropout drop, int64_t drop_ld, cudaStream_t s) {
    if (M < 0 || N < 0 || K < 0) return T4JC_EINVAL;
    if (M == 0 || N == 0) return T4JC_OK;
    if (K == 0 && beta == 1.0f) return T4JC_OK;
    dim3 grid((N + GBN - 1) / GBN, (M + GBM - 1) / GBM);
    if (grid.y > 65535) return T4JC_EINVAL;
    if (!ta && !tb) gemm_kernel<false, false, DROP><<<grid, GTHREADS, 0, s>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, drop, drop_ld);
    else if (!ta && tb) gemm_kernel<false, true, DROP><<<grid, GTHREADS, 0, s>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, drop, drop_ld);
    else if (ta && !tb) gemm_kernel<true, false, DROP><<<grid, GTHREADS, 0, s>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, drop, drop_ld);
    else gemm_kernel<true, true, DROP><<<grid, GTHREADS, 0, s>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, drop, drop_ld);
    return launched("gemm");
}

inline int gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                float beta, float* C, int ldc, cudaStream_t s) {
    return gemm_launch<DROP_NONE>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, make_dropout(0, 0.0f), 0, s);
}

}  // namespace t4jc

namespace t4jc {
// gemm.cu: the linear layer, shared with lora.cu, adapter.cu and crossentropy.cu
int colsum(float* db, const float* dy, int M, int N, cudaStream_t s);
int linear_fwd(float* y, const float* x, const float* w, const float* b, int M, int K, int N, cudaStream_t s);
int linear_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int M, int K, int N,
               cudaStream_t s);
}  // namespace t4jc
