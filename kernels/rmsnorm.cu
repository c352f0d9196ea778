// RMSNorm: one block per row for the statistics; dw is a column reduction over rows, done by a
// separate kernel (rows in segments, added atomically) so no two threads race on one element.
#include "common.cuh"

namespace t4jc {
namespace {

constexpr int kThreads = 256;

// OFFSET: the weights are w + w_offset (Gemma's 1 + w); a template flag so the usual norm does no add.
template <bool RESIDUAL, bool BF16, bool OFFSET = false>
__global__ void rmsnorm_fwd_kernel(float* h, void* yv, float* rstd, const void* xv, const float* r, const float* w,
                                   int d, float eps, float w_offset = 0.0f) {
    const int64_t row = blockIdx.x;
    const float* x = static_cast<const float*>(xv) + row * d;
    const uint16_t* xb = static_cast<const uint16_t*>(xv) + row * d;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float v = BF16 ? bf2f(xb[j]) : x[j];
        if (RESIDUAL) {
            v += r[row * d + j];
            h[row * d + j] = v;  // each element written by the thread that read it: h may alias x or r
        }
        ss += v * v;
    }
    ss = block_sum(ss);
    float rs = rsqrtf(ss / d + eps);
    if (threadIdx.x == 0 && rstd) rstd[row] = rs;
    const float* src = RESIDUAL ? h + row * d : x;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float v = BF16 ? bf2f(xb[j]) : src[j];
        float out = v * rs * (OFFSET ? w[j] + w_offset : w[j]);
        if (BF16) static_cast<uint16_t*>(yv)[row * d + j] = f2bf(out);
        else static_cast<float*>(yv)[row * d + j] = out;
    }
}

// dx += r w dy - x r^3 mean(dy w x), with w + w_offset for the weights under OFFSET
template <bool OFFSET = false>
__global__ void rmsnorm_dx_kernel(float* dx, const float* dy, const float* x, const float* w, const float* rstd, int d,
                                  float w_offset = 0.0f) {
    const int64_t off = (int64_t)blockIdx.x * d;
    float dot = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) dot += dy[off + j] * (OFFSET ? w[j] + w_offset : w[j]) * x[off + j];
    dot = block_sum(dot);
    float r = rstd[blockIdx.x];
    float c = dot / d * r * r * r;
    for (int j = threadIdx.x; j < d; j += blockDim.x)
        dx[off + j] += r * (OFFSET ? w[j] + w_offset : w[j]) * dy[off + j] - x[off + j] * c;
}

constexpr int kSegRows = 256;
__global__ void rmsnorm_dw_kernel(float* dw, const float* dy, const float* x, const float* rstd, int M, int d) {
    __shared__ float part[8][33];
    int j = blockIdx.x * 32 + threadIdx.x;
    int r0 = blockIdx.y * kSegRows, r1 = min(M, r0 + kSegRows);
    float s = 0.0f;
    if (j < d)
        for (int i = r0 + threadIdx.y; i < r1; i += 8) s += dy[(int64_t)i * d + j] * x[(int64_t)i * d + j] * rstd[i];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && j < d) {
        float t = 0.0f;
        for (int y = 0; y < 8; y++) t += part[y][threadIdx.x];
        atomicAdd(dw + j, t);
    }
}

inline int threads_for(int d) { return d >= 1024 ? 512 : (d >= 256 ? kThreads : 64); }

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_rmsnorm_fwd(float* y, float* rstd, const float* x, const float* w, int M, int d, float eps, float w_offset,
                     void* stream) {
    if (M < 0 || d <= 0) return M == 0 ? T4JC_OK : T4JC_EINVAL;
    if (M == 0) return T4JC_OK;
    if (w_offset != 0.0f)
        rmsnorm_fwd_kernel<false, false, true><<<M, threads_for(d), 0, S(stream)>>>(nullptr, y, rstd, x, nullptr, w, d,
                                                                                    eps, w_offset);
    else
        rmsnorm_fwd_kernel<false, false><<<M, threads_for(d), 0, S(stream)>>>(nullptr, y, rstd, x, nullptr, w, d, eps);
    return launched("rmsnorm");
}

int t4jc_add_rmsnorm_fwd(float* h, float* y, float* rstd, const float* x, const float* r, const float* w, int M, int d,
                         float eps, void* stream) {
    if (M < 0 || d <= 0) return M == 0 ? T4JC_OK : T4JC_EINVAL;
    if (M == 0) return T4JC_OK;
    rmsnorm_fwd_kernel<true, false><<<M, threads_for(d), 0, S(stream)>>>(h, y, rstd, x, r, w, d, eps);
    return launched("add+rmsnorm");
}

int t4jc_rmsnorm_fwd_bf16(uint16_t* y, float* rstd, const uint16_t* x, const float* w, int M, int d, float eps,
                          void* stream) {
    if (M < 0 || d <= 0) return M == 0 ? T4JC_OK : T4JC_EINVAL;
    if (M == 0) return T4JC_OK;
    rmsnorm_fwd_kernel<false, true><<<M, threads_for(d), 0, S(stream)>>>(nullptr, y, rstd, x, nullptr, w, d, eps);
    return launched("rmsnorm bf16");
}

int t4jc_rmsnorm_bwd(float* dx, float* dw, const float* dy, const float* x, const float* w, const float* rstd, int M,
                     int d, float w_offset, void* stream) {
    if (M < 0 || d <= 0) return M == 0 ? T4JC_OK : T4JC_EINVAL;
    if (M == 0) return T4JC_OK;
    if (dx && w_offset != 0.0f)
        rmsnorm_dx_kernel<true><<<M, threads_for(d), 0, S(stream)>>>(dx, dy, x, w, rstd, d, w_offset);
    else if (dx)
        rmsnorm_dx_kernel<<<M, threads_for(d), 0, S(stream)>>>(dx, dy, x, w, rstd, d);
    if (dw) {
        dim3 grid((d + 31) / 32, (M + kSegRows - 1) / kSegRows);
        rmsnorm_dw_kernel<<<grid, dim3(32, 8), 0, S(stream)>>>(dw, dy, x, rstd, M, d);
    }
    return launched("rmsnorm backward");
}

}  // extern "C"
