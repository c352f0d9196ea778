// DoRA's magnitude rescaling (t4j_dora_* semantics, tune4j.h) around the fused LoRA op. The adapted
// weight V = W + s.B.A is built once in the scratch by the tiled GEMM and reduced one row per block;
// the norm is detached, so only the row scale has a backward.
#include "gemm.cuh"

namespace t4jc {
namespace {

// norm[j] = ||V_j||, g[j] = m[j] / norm[j] (0 for a zero row); one block per row, double sums.
__global__ void dora_row_norm_kernel(float* norm, float* g, const float* v, const float* m, int K) {
    const int j = blockIdx.x;
    const float* vj = v + (int64_t)j * K;
    double s = 0.0;
    for (int k = threadIdx.x; k < K; k += blockDim.x) s += (double)vj[k] * vj[k];
    s = warp_sum(s);
    __shared__ double part[32];
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    if (lane == 0) part[w] = s;
    __syncthreads();
    if (w == 0) {
        s = lane < (int)(blockDim.x >> 5) ? part[lane] : 0.0;
        s = warp_sum(s);
        if (lane == 0) {
            const float n = (float)sqrt(s);
            norm[j] = n;
            if (g) g[j] = n > 0.0f ? m[j] / n : 0.0f;
        }
    }
}

__global__ void dora_scale_fwd_kernel(float* y, const float* u, const float* g, const float* bias, int64_t n, int N) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        const int j = (int)(e % N);
        y[e] = g[j] * u[e] + (bias ? bias[j] : 0.0f);
    }
}

__global__ void dora_scale_du_kernel(float* du, const float* dy, const float* g, int64_t n, int N) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        du[e] = g[(int)(e % N)] * dy[e];
    }
}

// one thread per column: sums over the rows, each column written by one thread only
__global__ void dora_scale_colsums_kernel(float* dm, float* dbias, const float* dy, const float* u,
                                          const float* norm, int M, int N) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= N) return;
    double sm = 0.0, sb = 0.0;
    for (int i = 0; i < M; i++) {
        const float d = dy[(int64_t)i * N + j];
        sm += (double)d * u[(int64_t)i * N + j];
        sb += d;
    }
    if (dm && norm[j] > 0.0f) dm[j] += (float)(sm / norm[j]);
    if (dbias) dbias[j] += (float)sb;
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int64_t t4jc_dora_norm_ws_floats(int K, int N, int r) {
    (void)r;
    const int64_t n = (int64_t)K * N;
    return n > 0 ? n : 0;
}

int t4jc_dora_norm(float* norm, float* g, const float* w, const float* a, const float* b, const float* m, int K, int N,
                   int r, float scale, float* ws, void* stream) {
    if (K < 0 || N < 0 || r < 0) return T4JC_EINVAL;
    if (N == 0) return T4JC_OK;
    if (K > 0 && !ws) return T4JC_EINVAL;
    cudaStream_t s = S(stream);
    if (K > 0) {
        cudaError_t e = cudaMemcpyAsync(ws, w, sizeof(float) * (size_t)K * N, cudaMemcpyDeviceToDevice, s);
        if (e != cudaSuccess) return fail(e, "dora norm copy");
        if (r > 0) {
            int rc = gemm(false, false, N, K, r, scale, b, r, a, K, 1.0f, ws, K, s);
            if (rc) return rc;
        }
    }
    dora_row_norm_kernel<<<N, 256, 0, s>>>(norm, g, ws, m, K);
    return launched("dora norm");
}

int t4jc_dora_scale_fwd(float* y, const float* u, const float* g, const float* bias, int M, int N, void* stream) {
    if (M < 0 || N < 0) return T4JC_EINVAL;
    const int64_t n = (int64_t)M * N;
    if (n == 0) return T4JC_OK;
    dora_scale_fwd_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(y, u, g, bias, n, N);
    return launched("dora scale");
}

int t4jc_dora_scale_bwd(float* du, float* dm, float* dbias, const float* dy, const float* u, const float* g,
                        const float* norm, int M, int N, void* stream) {
    if (M < 0 || N < 0) return T4JC_EINVAL;
    const int64_t n = (int64_t)M * N;
    if (n == 0) return T4JC_OK;
    cudaStream_t s = S(stream);
    if (du) dora_scale_du_kernel<<<blocks_for(n, 256), 256, 0, s>>>(du, dy, g, n, N);
    if (dm || dbias) dora_scale_colsums_kernel<<<(N + 127) / 128, 128, 0, s>>>(dm, dbias, dy, u, norm, M, N);
    return launched("dora scale backward");
}

}  // extern "C"
