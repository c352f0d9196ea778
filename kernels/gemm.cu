// GEMM entry point and the linear layer built on it. The tiled kernel in gemm.cuh stands in until
// cuBLASLt is loaded at run time (dlopen, so that no cuBLAS headers are needed to build).
#include "gemm.cuh"

namespace t4jc {
namespace {

// y[i, :] = b for every row, so the product can add on top (beta = 1).
__global__ void broadcast_rows(float* y, const float* b, int M, int N) {
    int64_t n = (int64_t)M * N;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        y[e] = b[e % N];
}

// db[j] += sum_i dy[i, j]: 32 columns per block, 8 row lanes, row segments of 1024 added atomically.
constexpr int kSegRows = 1024;
__global__ void colsum_kernel(float* db, const float* dy, int M, int N) {
    __shared__ float part[8][33];
    int j = blockIdx.x * 32 + threadIdx.x;
    int r0 = blockIdx.y * kSegRows, r1 = min(M, r0 + kSegRows);
    float s = 0.0f;
    if (j < N)
        for (int i = r0 + threadIdx.y; i < r1; i += 8) s += dy[(int64_t)i * N + j];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && j < N) {
        float t = 0.0f;
        for (int y = 0; y < 8; y++) t += part[y][threadIdx.x];
        atomicAdd(db + j, t);
    }
}

}  // namespace

int colsum(float* db, const float* dy, int M, int N, cudaStream_t s) {
    if (M < 0 || N < 0) return T4JC_EINVAL;
    if (M == 0 || N == 0 || !db) return T4JC_OK;
    dim3 grid((N + 31) / 32, (M + kSegRows - 1) / kSegRows);
    colsum_kernel<<<grid, dim3(32, 8), 0, s>>>(db, dy, M, N);
    return launched("colsum");
}

int linear_fwd(float* y, const float* x, const float* w, const float* b, int M, int K, int N, cudaStream_t s) {
    if (M < 0 || K < 0 || N < 0) return T4JC_EINVAL;
    if (M == 0 || N == 0) return T4JC_OK;
    float beta = 0.0f;
    if (b) {
        broadcast_rows<<<blocks_for((int64_t)M * N, 256), 256, 0, s>>>(y, b, M, N);
        int rc = launched("linear bias");
        if (rc) return rc;
        beta = 1.0f;
    } else if (K == 0) {
        cudaError_t e = cudaMemsetAsync(y, 0, sizeof(float) * (size_t)M * N, s);
        return e == cudaSuccess ? T4JC_OK : fail(e, "linear zero");
    }
    return gemm(false, true, M, N, K, 1.0f, x, K, w, K, beta, y, N, s);
}

int linear_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int M, int K, int N,
               cudaStream_t s) {
    if (M < 0 || K < 0 || N < 0) return T4JC_EINVAL;
    int rc = T4JC_OK;
    if (dx && K > 0) rc = gemm(false, false, M, K, N, 1.0f, dy, N, w, K, 1.0f, dx, K, s);
    if (!rc && dw && K > 0) rc = gemm(true, false, N, K, M, 1.0f, dy, N, x, K, 1.0f, dw, K, s);
    if (!rc && db) rc = colsum(db, dy, M, N, s);
    return rc;
}

}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
              int ldb, float beta, float* C, int ldc, void* stream) {
    return gemm(trans_a != 0, trans_b != 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, S(stream));
}

int t4jc_linear_fwd(float* y, const float* x, const float* w, const float* b, int M, int K, int N, void* stream) {
    return linear_fwd(y, x, w, b, M, K, N, S(stream));
}

int t4jc_linear_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int M, int K,
                    int N, void* stream) {
    return linear_bwd(dx, dw, db, dy, x, w, M, K, N, S(stream));
}

int t4jc_colsum_acc(float* db, const float* dy, int M, int N, void* stream) { return colsum(db, dy, M, N, S(stream)); }

}  // extern "C"
