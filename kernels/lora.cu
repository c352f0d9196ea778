// Fused LoRA. The low-rank path is three thin products on the tiled GEMM with the dropout mask
// applied inside them: to x while it is loaded (shrink, dA) or to the product before it is added
// (dx), so drop(x) is never materialised; the mask is the CPU's pure function of (seed, index).
// Batched multi-adapter LoRA (BGMV) serves several adapters in one decode step, one per row.
#include "gemm.cuh"

namespace t4jc {
namespace {

int shrink(float* t, const float* x, const float* a, int M, int K, int r, const Dropout& d, cudaStream_t s) {
    if (K == 0) {
        cudaError_t e = cudaMemsetAsync(t, 0, sizeof(float) * (size_t)M * r, s);
        return e == cudaSuccess ? T4JC_OK : fail(e, "lora shrink");
    }
    return gemm_launch<DROP_A>(false, true, M, r, K, 1.0f, x, K, a, K, 0.0f, t, r, d, K, s);
}

// t[m, j] = x[m] . A_idx[j]: one block per row, one warp per rank component at a time.
__global__ void bgmv_shrink_kernel(float* t, const float* x, const float* as, const int32_t* idx, int K, int r,
                                   int n_adapters) {
    const int m = blockIdx.x, w = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    const int ad = idx[m];
    for (int j = w; j < r; j += nw) {
        float s = 0.0f;
        if (ad >= 0 && ad < n_adapters) {
            const float* arow = as + ((int64_t)ad * r + j) * K;
            const float* xr = x + (int64_t)m * K;
            for (int k = lane; k < K; k += 32) s = fmaf(xr[k], arow[k], s);
            s = warp_sum(s);
        }
        if (lane == 0) t[(int64_t)m * r + j] = s;
    }
}

// y[m, n] += scale_idx * t[m] . B_idx[n]
__global__ void bgmv_expand_kernel(float* y, const float* t, const float* bs, const float* scales, const int32_t* idx,
                                   int N, int r, int n_adapters) {
    extern __shared__ float tr[];
    const int m = blockIdx.y;
    const int ad = idx[m];
    if (ad < 0 || ad >= n_adapters) return;
    for (int j = threadIdx.x; j < r; j += blockDim.x) tr[j] = t[(int64_t)m * r + j];
    __syncthreads();
    const int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) return;
    const float* brow = bs + ((int64_t)ad * N + n) * r;
    float s = 0.0f;
    for (int j = 0; j < r; j++) s = fmaf(tr[j], brow[j], s);
    y[(int64_t)m * N + n] += scales[ad] * s;
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_lora_shrink(float* t, const float* x, const float* a, int M, int K, int r, float dropout, uint64_t seed,
                     void* stream) {
    if (M < 0 || K < 0 || r < 0) return T4JC_EINVAL;
    if (M == 0 || r == 0) return T4JC_OK;
    return shrink(t, x, a, M, K, r, make_dropout(seed, dropout), S(stream));
}

int t4jc_lora_expand(float* y, const float* t, const float* b, int M, int N, int r, float scale, void* stream) {
    if (M < 0 || N < 0 || r < 0) return T4JC_EINVAL;
    return gemm(false, true, M, N, r, scale, t, r, b, r, 1.0f, y, N, S(stream));
}

int64_t t4jc_lora_ws_floats(int M, int K, int N, int r, float dropout) {
    (void)K; (void)N; (void)dropout;
    int64_t n = (int64_t)M * r;
    return n > 0 ? n : 0;
}

int t4jc_lora_fwd(float* y, float* t, const float* x, const float* w, const float* bias, const float* a,
                  const float* b, int M, int K, int N, int r, float scale, float dropout, uint64_t seed, float* ws,
                  void* stream) {
    (void)ws;
    cudaStream_t s = S(stream);
    int rc = linear_fwd(y, x, w, bias, M, K, N, s);
    if (rc || M <= 0 || r <= 0) return rc;
    rc = shrink(t, x, a, M, K, r, make_dropout(seed, dropout), s);
    if (rc || N <= 0) return rc;
    return gemm(false, true, M, N, r, scale, t, r, b, r, 1.0f, y, N, s);
}

int t4jc_lora_bwd_a(float* da, const float* dt, const float* x, int M, int K, int r, float dropout, uint64_t seed,
                    void* stream) {
    return gemm_launch<DROP_B>(true, false, r, K, M, 1.0f, dt, r, x, K, 1.0f, da, K, make_dropout(seed, dropout), K,
                               S(stream));
}

int t4jc_lora_bwd_x(float* dx, const float* dt, const float* a, int M, int K, int r, float dropout, uint64_t seed,
                    void* stream) {
    return gemm_launch<DROP_C>(false, false, M, K, r, 1.0f, dt, r, a, K, 1.0f, dx, K, make_dropout(seed, dropout), K,
                               S(stream));
}

int t4jc_lora_bwd(float* dx, float* dw, float* dbias, float* da, float* db, const float* dy, const float* x,
                  const float* t, const float* w, const float* a, const float* b, int M, int K, int N, int r,
                  float scale, float dropout, uint64_t seed, float* ws, void* stream) {
    cudaStream_t s = S(stream);
    int rc = linear_bwd(dx, dw, dbias, dy, x, w, M, K, N, s);
    if (rc || M <= 0 || N <= 0 || r <= 0) return rc;
    // dB[N,r] += s dy^T t
    if (db) rc = gemm(true, false, N, r, M, scale, dy, N, t, r, 1.0f, db, r, s);
    if (rc || (!dx && !da) || K <= 0) return rc;
    if (!ws) return T4JC_EINVAL;
    // dt[M,r] = s dy B
    float* dt = ws;
    rc = gemm(false, false, M, r, N, scale, dy, N, b, r, 0.0f, dt, r, s);
    if (!rc && da) rc = t4jc_lora_bwd_a(da, dt, x, M, K, r, dropout, seed, stream);
    if (!rc && dx) rc = t4jc_lora_bwd_x(dx, dt, a, M, K, r, dropout, seed, stream);
    return rc;
}

int t4jc_bgmv_lora(float* y, float* t, const float* x, const float* as, const float* bs, const float* scales,
                   const int32_t* idx, int M, int K, int N, int r, int n_adapters, void* stream) {
    if (M < 0 || K < 0 || N < 0 || r < 0 || n_adapters < 0 || M > 65535) return T4JC_EINVAL;
    if (M == 0 || N == 0 || r == 0 || n_adapters == 0) return T4JC_OK;
    cudaStream_t s = S(stream);
    bgmv_shrink_kernel<<<M, 256, 0, s>>>(t, x, as, idx, K, r, n_adapters);
    bgmv_expand_kernel<<<dim3((N + 127) / 128, M), 128, sizeof(float) * r, s>>>(y, t, bs, scales, idx, N, r, n_adapters);
    return launched("bgmv lora");
}

}  // extern "C"
