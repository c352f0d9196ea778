// GeGLU gate of the Gemma MLP: out = gelu_tanh(g) * u (HF gelu_pytorch_tanh), the semantics of
// native/src/geglu.cpp. gelu_tanh(g) = g sigmoid(2z), z = sqrt(2/pi) (g + 0.044715 g^3): one exp and no
// inf/inf at saturation. Grid-stride loops, float4 accesses when every pointer is 16-byte aligned.
#include "common.cuh"

namespace t4jc {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

__device__ inline float gate(float g) { return 1.0f / (1.0f + expf(-2.0f * kSqrt2OverPi * (g + kGeluC * g * g * g))); }

__device__ inline float geglu(float g, float u) { return g * gate(g) * u; }

// out may alias g or u: each element is read before the thread that owns it writes it
__global__ void geglu_fwd_kernel(float* out, const float* g, const float* u, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) out[i] = geglu(g[i], u[i]);
}

__global__ void geglu_fwd_kernel4(float4* out, const float4* g, const float4* u, int64_t n4) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4; i += stride) {
        float4 a = g[i], b = u[i];
        out[i] = make_float4(geglu(a.x, b.x), geglu(a.y, b.y), geglu(a.z, b.z), geglu(a.w, b.w));
    }
}

// d gelu/dg = s + g * 2 s (1 - s) * sqrt(2/pi) (1 + 3c g^2), s = sigmoid(2z), recomputed rather than stored
__global__ void geglu_bwd_kernel(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) {
        float gi = g[i], d = dout[i];
        float s = gate(gi);
        if (du) du[i] += d * gi * s;
        if (dg) {
            float dz = 2.0f * kSqrt2OverPi * (1.0f + 3.0f * kGeluC * gi * gi);
            dg[i] += d * u[i] * (s + gi * s * (1.0f - s) * dz);
        }
    }
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_geglu_fwd(float* out, const float* g, const float* u, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    cudaStream_t s = S(stream);
    if (aligned16(out) && aligned16(g) && aligned16(u)) {
        int64_t n4 = n / 4;
        if (n4 > 0)
            geglu_fwd_kernel4<<<blocks_for(n4, 256), 256, 0, s>>>(reinterpret_cast<float4*>(out),
                                                                  reinterpret_cast<const float4*>(g),
                                                                  reinterpret_cast<const float4*>(u), n4);
        if (n % 4) geglu_fwd_kernel<<<1, 32, 0, s>>>(out + n4 * 4, g + n4 * 4, u + n4 * 4, n % 4);
    } else {
        geglu_fwd_kernel<<<blocks_for(n, 256), 256, 0, s>>>(out, g, u, n);
    }
    return launched("geglu");
}

int t4jc_geglu_bwd(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0 || (!dg && !du)) return T4JC_OK;
    geglu_bwd_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(dg, du, dout, g, u, n);
    return launched("geglu backward");
}

}  // extern "C"
