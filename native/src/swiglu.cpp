// SwiGLU gate of the Llama MLP: out = silu(g) * u, elementwise.
#include "tune4j.h"

#include <cmath>

// glibc ships vector variants of expf (libmvec, linked through libm) but only declares them under
// -ffast-math. Declaring them here lets the exp-based loops vectorise without fast-math's other
// licences; the vector expf is accurate to about 1 ulp, far inside the op tolerance.
extern "C" {
#pragma omp declare simd notinbranch
float expf(float) noexcept;
}

void t4j_swiglu_fwd(float* out, const float* g, const float* u, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; i++) out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void t4j_swiglu_bwd(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n) {
    // one pass recomputes the sigmoid for both gradients instead of storing it in forward;
    // d silu/dg = s + g*s*(1-s). The NULL checks sit outside the loops to keep them branch-free.
    if (dg && du) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) {
            float s = 1.0f / (1.0f + expf(-g[i]));
            du[i] += dout[i] * g[i] * s;
            dg[i] += dout[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
        }
    } else if (du) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) du[i] += dout[i] * g[i] / (1.0f + expf(-g[i]));
    } else if (dg) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) {
            float s = 1.0f / (1.0f + expf(-g[i]));
            dg[i] += dout[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
        }
    }
}
