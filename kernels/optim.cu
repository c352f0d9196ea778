// AdamW (one tensor or many in one launch) and sums of squares for gradient clipping.
#include "common.cuh"

#include <cmath>

namespace t4jc {
namespace {

struct AdamW {
    float beta1, beta2, eps, decay, step_size, inv_sqrt_bc2;
};

// Bias corrections in double on the host: 1 - beta2^t is close to 0 early on.
AdamW make_adamw(float lr, float beta1, float beta2, float eps, float wd, int step) {
    double bc1 = 1.0 - std::pow((double)beta1, step), bc2 = 1.0 - std::pow((double)beta2, step);
    AdamW a;
    a.beta1 = beta1;
    a.beta2 = beta2;
    a.eps = eps;
    a.decay = (float)(1.0 - (double)lr * wd);
    a.step_size = (float)(lr / bc1);
    a.inv_sqrt_bc2 = (float)(1.0 / std::sqrt(bc2));
    return a;
}

__device__ inline void adamw_elem(float* p, const float* g, float* m, float* v, int64_t i, const AdamW& h) {
    float gi = g[i];
    float mi = h.beta1 * m[i] + (1.0f - h.beta1) * gi;
    float vi = h.beta2 * v[i] + (1.0f - h.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * h.decay - h.step_size * mi / (sqrtf(vi) * h.inv_sqrt_bc2 + h.eps);
}

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, int64_t n, AdamW h) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        adamw_elem(p, g, m, v, i, h);
}

// blockIdx.y picks the tensor; blockIdx.x strides over its elements.
__global__ void adamw_multi_kernel(const t4jc_adamw_tensor* list, AdamW h) {
    t4jc_adamw_tensor t = list[blockIdx.y];
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < t.n; i += (int64_t)gridDim.x * blockDim.x)
        adamw_elem(t.p, t.g, t.m, t.v, i, h);
}

__global__ void sumsq_kernel(double* out, const float* const* ptrs, const int64_t* ns, const float* single,
                             int64_t single_n) {
    const float* x = ptrs ? ptrs[blockIdx.y] : single;
    int64_t n = ptrs ? ns[blockIdx.y] : single_n;
    double s = 0.0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        s += (double)x[i] * x[i];
    s = block_sum(s);
    if (threadIdx.x == 0 && s != 0.0) atomicAdd(out, s);
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2, float eps,
               float weight_decay, int step, void* stream) {
    if (n < 0 || step < 1) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    adamw_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(p, g, m, v, n,
                                                            make_adamw(lr, beta1, beta2, eps, weight_decay, step));
    return launched("adamw");
}

int t4jc_adamw_multi(const t4jc_adamw_tensor* list, int count, int64_t max_n, float lr, float beta1, float beta2,
                     float eps, float weight_decay, int step, void* stream) {
    if (count < 0 || max_n < 0 || step < 1 || count > 65535) return T4JC_EINVAL;
    if (count == 0 || max_n == 0) return T4JC_OK;
    dim3 grid(blocks_for(max_n, 256, 1024), count);
    adamw_multi_kernel<<<grid, 256, 0, S(stream)>>>(list, make_adamw(lr, beta1, beta2, eps, weight_decay, step));
    return launched("adamw multi");
}

int t4jc_sumsq_multi(double* out_dev, const float* const* ptrs, const int64_t* ns, int count, int64_t max_n,
                     void* stream) {
    if (count < 0 || max_n < 0 || count > 65535) return T4JC_EINVAL;
    if (count == 0 || max_n == 0) return T4JC_OK;
    dim3 grid(blocks_for(max_n, 256, 1024), count);
    sumsq_kernel<<<grid, 256, 0, S(stream)>>>(out_dev, ptrs, ns, nullptr, 0);
    return launched("sumsq multi");
}

int t4jc_sumsq(double* out_host, const float* x, int64_t n, void* stream) {
    if (n < 0 || !out_host) return T4JC_EINVAL;
    *out_host = 0.0;
    if (n == 0) return T4JC_OK;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    cudaStream_t st = S(stream);
    cudaError_t e = cudaMemsetAsync(&sc->dvalue[1], 0, sizeof(double), st);
    if (e != cudaSuccess) return fail(e, "sumsq");
    sumsq_kernel<<<dim3(blocks_for(n, 256, 1024), 1), 256, 0, st>>>(&sc->dvalue[1], nullptr, nullptr, x, n);
    int rc = launched("sumsq");
    if (rc) return rc;
    Scratch h;
    rc = read_scratch(&h, st);
    if (rc) return rc;
    *out_host = h.dvalue[1];
    return T4JC_OK;
}

}  // extern "C"
