// GeGLU gate of the Gemma MLP: out = gelu_tanh(g) * u, elementwise (HF gelu_pytorch_tanh).
// 0.5 (1 + tanh(z)) == sigmoid(2z), so gelu_tanh(g) = g * sigmoid(2z) with z = sqrt(2/pi) (g + 0.044715 g^3):
// one exp, no cancellation near z = 0, and it saturates to g or -0 without inf/inf.
#include "tune4j.h"

#include <cmath>

// libmvec's vector expf, declared as in swiglu.cpp so the loops vectorise without -ffast-math
extern "C" {
#pragma omp declare simd notinbranch
float expf(float) noexcept;
}

namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;
}  // namespace

void t4j_geglu_fwd(float* out, const float* g, const float* u, int64_t n) {
    // out may alias g or u: element i is read before it is written
#pragma omp parallel for simd schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; i++) {
        const float v = g[i];
        out[i] = v / (1.0f + expf(-2.0f * kSqrt2OverPi * (v + kGeluC * v * v * v))) * u[i];
    }
}

void t4j_geglu_bwd(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n) {
    // with s = sigmoid(2z): gelu = g s, d gelu/dg = s + g * 2 s (1 - s) * dz/dg, dz/dg = sqrt(2/pi) (1 + 3c g^2).
    // The NULL checks sit outside the loops to keep them branch-free.
    if (dg && du) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) {
            const float v = g[i];
            const float s = 1.0f / (1.0f + expf(-2.0f * kSqrt2OverPi * (v + kGeluC * v * v * v)));
            const float dz = 2.0f * kSqrt2OverPi * (1.0f + 3.0f * kGeluC * v * v);
            du[i] += dout[i] * v * s;
            dg[i] += dout[i] * u[i] * (s + v * s * (1.0f - s) * dz);
        }
    } else if (du) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) {
            const float v = g[i];
            du[i] += dout[i] * v / (1.0f + expf(-2.0f * kSqrt2OverPi * (v + kGeluC * v * v * v)));
        }
    } else if (dg) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) {
            const float v = g[i];
            const float s = 1.0f / (1.0f + expf(-2.0f * kSqrt2OverPi * (v + kGeluC * v * v * v)));
            const float dz = 2.0f * kSqrt2OverPi * (1.0f + 3.0f * kGeluC * v * v);
            dg[i] += dout[i] * u[i] * (s + v * s * (1.0f - s) * dz);
        }
    }
}
