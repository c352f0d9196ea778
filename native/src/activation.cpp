// Elementwise activations outside the fused blocks (tanh of the prefix-tuning MLP, Gemma 2's soft-capping).
#include "tune4j.h"
#include "vtanh.h"

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

// Soft-capping (Gemma 2): y = cap * tanh(x / cap), vectorised (t4j_vtanh, a few ulp) because it runs over
// whole logit rows.
int t4j_softcap_fwd(float* y, const float* x, float cap, int64_t n) {
    if (!(cap > 0.0f) || std::isinf(cap) || n < 0) return T4J_EINVAL;
    const float inv = 1.0f / cap;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t c0 = 0; c0 < n; c0 += 4096) {
        const int64_t c1 = c0 + 4096 < n ? c0 + 4096 : n;
        t4j_vtanh_scale(y + c0, x + c0, c1 - c0, inv, cap);
    }
    return T4J_OK;
}

int t4j_softcap_bwd(float* dx, const float* dy, const float* y, float cap, int64_t n) {
    if (!(cap > 0.0f) || std::isinf(cap) || n < 0) return T4J_EINVAL;
    if (!dx) return T4J_OK;
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        const float t = y[i] / cap;
        dx[i] += dy[i] * ((1.0f - t) * (1.0f + t));
    }
    return T4J_OK;
}
