// Bottleneck adapter y = x + act(x D^T + bd) U^T + bu (D [m,d], U [d,m]). For small bottlenecks
// (m <= 128) the forward is one kernel per tile of 8 rows: a warp per (row, j) dot product for the
// down projection, the activations kept in shared memory for the up projection and the residual.
// Backward reuses the linear GEMMs (its weight gradients are reductions over all rows).
#include "gemm.cuh"

namespace t4jc {
namespace {

constexpr int TM = 8;
constexpr int MAXM = 128;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;

__device__ inline float activate(float v, int act) {
    switch (act) {
        case 0: return v > 0.0f ? v : 0.0f;
        case 1: return v / (1.0f + expf(-2.0f * kSqrt2OverPi * (v + kGeluC * v * v * v)));
        case 2: return v / (1.0f + expf(-v));
        default: return v;
    }
}

__device__ inline float activate_grad(float v, int act) {
    switch (act) {
        case 0: return v > 0.0f ? 1.0f : 0.0f;
        case 1: {
            float s = 1.0f / (1.0f + expf(-2.0f * kSqrt2OverPi * (v + kGeluC * v * v * v)));
            float dz = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * v * v);
            return s + 2.0f * v * s * (1.0f - s) * dz;
        }
        case 2: {
            float s = 1.0f / (1.0f + expf(-v));
            return s * (1.0f + v * (1.0f - s));
        }
        default: return 1.0f;
    }
}

__global__ void adapter_fused_kernel(float* y, float* h, float* a, const float* x, const float* dw, const float* db,
                                     const float* uw, const float* ub, int M, int d, int m, int act) {
    __shared__ float as[TM][MAXM];
    const int r0 = blockIdx.x * TM, rows = min(TM, M - r0);
    const int w = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    for (int o = w; o < rows * m; o += nw) {
        int rr = o / m, j = o % m;
        const float* xr = x + (int64_t)(r0 + rr) * d;
        const float* dr = dw + (int64_t)j * d;
        float s = 0.0f;
        for (int k = lane; k < d; k += 32) s = fmaf(xr[k], dr[k], s);
        s = warp_sum(s);
        if (lane == 0) {
            if (db) s += db[j];
            float av = activate(s, act);
            h[(int64_t)(r0 + rr) * m + j] = s;
            a[(int64_t)(r0 + rr) * m + j] = av;
            as[rr][j] = av;
        }
    }
    __syncthreads();  // every read of these rows of x is done: y may alias x from here on
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        const float* ur = uw + (int64_t)c * m;
        float acc[TM];
#pragma unroll
        for (int rr = 0; rr < TM; rr++) acc[rr] = 0.0f;
        for (int j = 0; j < m; j++) {
            float u = ur[j];
#pragma unroll
            for (int rr = 0; rr < TM; rr++) acc[rr] = fmaf(as[rr][j], u, acc[rr]);
        }
        float bias = ub ? ub[c] : 0.0f;
        for (int rr = 0; rr < rows; rr++) {
            int64_t e = (int64_t)(r0 + rr) * d + c;
            y[e] = x[e] + bias + acc[rr];
        }
    }
}

__global__ void residual_bias_kernel(float* y, const float* x, const float* ub, int M, int d) {
    int64_t n = (int64_t)M * d;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        y[e] = x[e] + (ub ? ub[e % d] : 0.0f);
}

__global__ void act_kernel(float* a, const float* h, int64_t n, int act) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        a[e] = activate(h[e], act);
}

__global__ void act_bwd_kernel(float* g, const float* h, int64_t n, int act) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        g[e] *= activate_grad(h[e], act);
}

__global__ void add_into_kernel(float* y, const float* x, int64_t n) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        y[e] += x[e];
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_adapter_fwd(float* y, float* h, float* a, const float* x, const float* dw, const float* db, const float* uw,
                     const float* ub, int M, int d, int m, int act, void* stream) {
    if (M < 0 || d < 0 || m < 0) return T4JC_EINVAL;
    if (M == 0 || d == 0) return T4JC_OK;
    cudaStream_t s = S(stream);
    if (m > 0 && m <= MAXM) {
        adapter_fused_kernel<<<(M + TM - 1) / TM, 256, 0, s>>>(y, h, a, x, dw, db, uw, ub, M, d, m, act);
        return launched("adapter");
    }
    // large bottleneck: down GEMM, activation, residual, then the up GEMM adds on top
    int rc = T4JC_OK;
    if (m > 0) {
        rc = linear_fwd(h, x, dw, db, M, d, m, s);
        if (rc) return rc;
        act_kernel<<<blocks_for((int64_t)M * m, 256), 256, 0, s>>>(a, h, (int64_t)M * m, act);
    }
    residual_bias_kernel<<<blocks_for((int64_t)M * d, 256), 256, 0, s>>>(y, x, ub, M, d);
    rc = launched("adapter");
    if (rc || m == 0) return rc;
    return gemm(false, true, M, d, m, 1.0f, a, m, uw, m, 1.0f, y, d, s);
}

int t4jc_adapter_bwd(float* dx, float* ddw, float* ddb, float* duw, float* dub, const float* dy, const float* x,
                     const float* h, const float* a, const float* dw, const float* uw, int M, int d, int m, int act,
                     float* ws, void* stream) {
    if (M < 0 || d < 0 || m < 0) return T4JC_EINVAL;
    if (M == 0 || d == 0) return T4JC_OK;
    cudaStream_t s = S(stream);
    const int64_t Md = (int64_t)M * d;
    if (dx) add_into_kernel<<<blocks_for(Md, 256), 256, 0, s>>>(dx, dy, Md);
    int rc = launched("adapter backward");
    if (rc) return rc;
    if (m == 0) return colsum(dub, dy, M, d, s);
    rc = linear_bwd(nullptr, duw, dub, dy, a, uw, M, m, d, s);
    if (rc || (!dx && !ddw && !ddb)) return rc;
    if (!ws) return T4JC_EINVAL;
    float* g = ws;  // dL/dh [M,m]
    rc = gemm(false, false, M, m, d, 1.0f, dy, d, uw, m, 0.0f, g, m, s);
    if (rc) return rc;
    act_bwd_kernel<<<blocks_for((int64_t)M * m, 256), 256, 0, s>>>(g, h, (int64_t)M * m, act);
    rc = launched("adapter activation backward");
    if (rc) return rc;
    return linear_bwd(dx, ddw, ddb, g, x, dw, M, d, m, s);
}

}  // extern "C"
