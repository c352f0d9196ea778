// Memory-bound elementwise ops: residual add, axpy, scale, SwiGLU, tanh and soft-capping. Grid-stride loops,
// with float4 accesses when every pointer is 16-byte aligned (the usual case: allocations are 256-byte aligned).
#include "common.cuh"

namespace t4jc {
namespace {

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

__device__ inline float silu(float g) { return g / (1.0f + expf(-g)); }

struct AddOp {
    __device__ float operator()(float a, float b) const { return a + b; }
};
struct SwigluOp {
    __device__ float operator()(float g, float u) const { return silu(g) * u; }
};

// y = op(a, b); y may alias a or b because each element is read before it is written by one thread.
template <class Op>
__global__ void binary_kernel(float* y, const float* a, const float* b, int64_t n, Op op) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) y[i] = op(a[i], b[i]);
}

template <class Op>
__global__ void binary_kernel4(float4* y, const float4* a, const float4* b, int64_t n4, Op op) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4; i += stride) {
        float4 x = a[i], z = b[i];
        y[i] = make_float4(op(x.x, z.x), op(x.y, z.y), op(x.z, z.z), op(x.w, z.w));
    }
}

template <class Op>
int binary(float* y, const float* a, const float* b, int64_t n, Op op, cudaStream_t s, const char* what) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    if (aligned16(y) && aligned16(a) && aligned16(b)) {
        int64_t n4 = n / 4;
        if (n4 > 0)
            binary_kernel4<<<blocks_for(n4, 256), 256, 0, s>>>(reinterpret_cast<float4*>(y),
                                                               reinterpret_cast<const float4*>(a),
                                                               reinterpret_cast<const float4*>(b), n4, op);
        if (n % 4) binary_kernel<<<1, 32, 0, s>>>(y + n4 * 4, a + n4 * 4, b + n4 * 4, n % 4, op);
    } else {
        binary_kernel<<<blocks_for(n, 256), 256, 0, s>>>(y, a, b, n, op);
    }
    return launched(what);
}

__global__ void axpy_kernel(float* y, float alpha, const float* x, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) y[i] = fmaf(alpha, x[i], y[i]);
}

__global__ void scale_kernel(float* x, float s, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) x[i] *= s;
}

// d silu/dg = s + g s (1-s); the sigmoid is recomputed rather than stored in forward.
__global__ void swiglu_bwd_kernel(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) {
        float gi = g[i], d = dout[i];
        float sg = 1.0f / (1.0f + expf(-gi));
        if (du) du[i] += d * gi * sg;
        if (dg) dg[i] += d * u[i] * sg * (1.0f + gi * (1.0f - sg));
    }
}

__global__ void tanh_fwd_kernel(float* y, const float* x, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) y[i] = tanhf(x[i]);
}

// from the saved output: d tanh = 1 - y^2, so the input need not be kept
__global__ void tanh_bwd_kernel(float* dx, const float* dy, const float* y, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) {
        float yi = y[i];
        dx[i] += dy[i] * (1.0f - yi * yi);
    }
}

// soft-capping y = cap tanh(x / cap); y may alias x
__global__ void softcap_fwd_kernel(float* y, const float* x, float cap, int64_t n) {
    const float inv = 1.0f / cap;
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) y[i] = cap * tanhf(x[i] * inv);
}

// from the saved output: d/dx cap tanh(x/cap) = 1 - (y/cap)^2
__global__ void softcap_bwd_kernel(float* dx, const float* dy, const float* y, float cap, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) {
        float t = y[i] / cap;
        dx[i] += dy[i] * ((1.0f - t) * (1.0f + t));
    }
}

__global__ void add_bf16_kernel(uint16_t* y, const uint16_t* a, const uint16_t* b, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = f2bf(bf2f(a[i]) + bf2f(b[i]));
}

__global__ void swiglu_bf16_kernel(uint16_t* y, const uint16_t* g, const uint16_t* u, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = f2bf(silu(bf2f(g[i])) * bf2f(u[i]));
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_add(float* y, const float* a, const float* b, int64_t n, void* stream) {
    return binary(y, a, b, n, AddOp{}, S(stream), "add");
}

int t4jc_axpy(float* y, float alpha, const float* x, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    axpy_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(y, alpha, x, n);
    return launched("axpy");
}

int t4jc_scale(float* x, float s, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    scale_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(x, s, n);
    return launched("scale");
}

int t4jc_swiglu_fwd(float* out, const float* g, const float* u, int64_t n, void* stream) {
    return binary(out, g, u, n, SwigluOp{}, S(stream), "swiglu");
}

int t4jc_swiglu_bwd(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0 || (!dg && !du)) return T4JC_OK;
    swiglu_bwd_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(dg, du, dout, g, u, n);
    return launched("swiglu backward");
}

int t4jc_tanh_fwd(float* y, const float* x, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    tanh_fwd_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(y, x, n);
    return launched("tanh");
}

int t4jc_tanh_bwd(float* dx, const float* dy, const float* y, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0 || !dx) return T4JC_OK;
    tanh_bwd_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(dx, dy, y, n);
    return launched("tanh backward");
}

int t4jc_softcap_fwd(float* y, const float* x, float cap, int64_t n, void* stream) {
    if (n < 0 || !(cap > 0.0f) || isinf(cap)) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    softcap_fwd_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(y, x, cap, n);
    return launched("softcap");
}

int t4jc_softcap_bwd(float* dx, const float* dy, const float* y, float cap, int64_t n, void* stream) {
    if (n < 0 || !(cap > 0.0f) || isinf(cap)) return T4JC_EINVAL;
    if (n == 0 || !dx) return T4JC_OK;
    softcap_bwd_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(dx, dy, y, cap, n);
    return launched("softcap backward");
}

int t4jc_add_bf16(uint16_t* y, const uint16_t* a, const uint16_t* b, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    add_bf16_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(y, a, b, n);
    return launched("add bf16");
}

int t4jc_swiglu_fwd_bf16(uint16_t* out, const uint16_t* g, const uint16_t* u, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    swiglu_bf16_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(out, g, u, n);
    return launched("swiglu bf16");
}

}  // extern "C"
