// Elementwise activations outside the fused blocks (tanh of the prefix-tuning MLP).
#include "tune4j.h"

#include <cmath>

void t4j_tanh_fwd(float* y, const float* x, int64_t n) {
    // libm tanhf rather than an exp identity: 1 - 2/(1+e^2v) cancels badly for small |v|, and this
    // op only runs on the small prefix MLP, so exactness beats vectorisation here.
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

void t4j_tanh_bwd(float* dx, const float* dy, const float* y, int64_t n) {
    // the derivative comes from the saved output: d tanh = 1 - tanh^2
#pragma omp parallel for simd schedule(static) if (n > 65536)
    // (1-y)(1+y): 1 - y*y would lose the small difference near saturation to y*y's rounding
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * ((1.0f - y[i]) * (1.0f + y[i]));
}
