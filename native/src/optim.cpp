// Optimiser arithmetic over flat parameter buffers: AdamW, the squared norm for gradient clipping, and
// the scaling that applies the clip.
#include "tune4j.h"

#include <cmath>

// PyTorch's AdamW (decoupled decay applied to p before the Adam step). Bias corrections are formed in
// double: beta2^t sits close to 1 early in training, where float would lose most of 1 - beta2^t.
void t4j_adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
               float eps, float weight_decay, int step) {
    const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), step);
    const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), step);
    const float decay = static_cast<float>(1.0 - static_cast<double>(lr) * weight_decay);
    const float step_size = static_cast<float>(lr / bc1);
    const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
    const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = beta1 * m[i] + c1 * gi;
        float vi = beta2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
    }
}

double t4j_sumsq(const float* x, int64_t n) {
    double s = 0.0;
#pragma omp parallel for simd schedule(static) reduction(+ : s) if (n > 65536)
    for (int64_t i = 0; i < n; i++) s += static_cast<double>(x[i]) * x[i];
    return s;
}

void t4j_scale(float* x, float s, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}
