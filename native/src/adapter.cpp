// Bottleneck adapter y = x + act(x.D^T + bd).U^T + bu with D [m,d], U [d,m]. Both projections reuse
// the linear kernels; what is left here is the activation, its derivative and the residual.
#include "tune4j.h"

#include "gemm.h"
#include <cmath>

// glibc ships vector variants of expf (libmvec, linked through libm) but only declares them under
// -ffast-math. Declaring them here lets the exp-based loops vectorise without fast-math's other
// licences; the vector expf is accurate to about 1 ulp, far inside the op tolerance.
extern "C" {
#pragma omp declare simd notinbranch
float expf(float) noexcept;
}

namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;

// One loop per activation (the switch sits outside) so each loop body stays branch-free and vectorisable.
void activate(float* a, const float* h, int64_t n, int act) {
    switch (act) {
        case T4J_ACT_RELU:
#pragma omp parallel for simd schedule(static) if (n > 65536)
            for (int64_t e = 0; e < n; e++) a[e] = h[e] > 0.0f ? h[e] : 0.0f;
            break;
        case T4J_ACT_GELU:
            // tanh approximation, as torch.nn.functional.gelu(approximate='tanh') / HF gelu_new
#pragma omp parallel for simd schedule(static) if (n > 16384)
            // 0.5*(1 + tanh(z)) == sigmoid(2z): one exp, no cancellation near z = 0
            for (int64_t e = 0; e < n; e++) {
                float v = h[e];
                a[e] = v / (1.0f + expf(-2.0f * kSqrt2OverPi * (v + kGeluC * v * v * v)));
            }
            break;
        case T4J_ACT_SILU:
#pragma omp parallel for simd schedule(static) if (n > 16384)
            for (int64_t e = 0; e < n; e++) a[e] = h[e] / (1.0f + expf(-h[e]));
            break;
        default:  // unknown code: no activation (the void ABI has no way to report it; Java validates)
#pragma omp parallel for simd schedule(static) if (n > 65536)
            for (int64_t e = 0; e < n; e++) a[e] = h[e];
            break;
    }
}

// g *= act'(h), turning dL/da into dL/dh in place.
void activate_bwd(float* g, const float* h, int64_t n, int act) {
    switch (act) {
        case T4J_ACT_RELU:
            // derivative taken as 0 at h == 0, as torch does
#pragma omp parallel for simd schedule(static) if (n > 65536)
            for (int64_t e = 0; e < n; e++) g[e] = h[e] > 0.0f ? g[e] : 0.0f;
            break;
        case T4J_ACT_GELU:
#pragma omp parallel for simd schedule(static) if (n > 16384)
            for (int64_t e = 0; e < n; e++) {
                // with s = sigmoid(2z): d/dv [v s] = s + 2 v s (1-s) dz/dv
                float v = h[e];
                float s = 1.0f / (1.0f + expf(-2.0f * kSqrt2OverPi * (v + kGeluC * v * v * v)));
                float dz = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * v * v);
                g[e] *= s + 2.0f * v * s * (1.0f - s) * dz;
            }
            break;
        case T4J_ACT_SILU:
#pragma omp parallel for simd schedule(static) if (n > 16384)
            for (int64_t e = 0; e < n; e++) {
                float s = 1.0f / (1.0f + expf(-h[e]));
                g[e] *= s * (1.0f + h[e] * (1.0f - s));
            }
            break;
        default:
            break;
    }
}

}  // namespace

void t4j_adapter_fwd(float* y, float* h, float* a, const float* x, const float* dw, const float* db,
                     const float* uw, const float* ub, int M, int d, int m, int act) {
    if (M <= 0 || d <= 0) return;
    const int64_t Md = static_cast<int64_t>(M) * d;
    if (m > 0) {
        t4j_linear_fwd(h, x, dw, db, M, d, m);  // h = x.D^T + bd
        activate(a, h, static_cast<int64_t>(M) * m, act);
    }
    // y = x + bu first, then the up projection adds on top (beta=1); works even if y aliases x
#pragma omp parallel for schedule(static) if (Md > 65536)
    for (int i = 0; i < M; i++) {
        const float* xi = x + static_cast<int64_t>(i) * d;
        float* yi = y + static_cast<int64_t>(i) * d;
        if (ub) {
#pragma omp simd
            for (int j = 0; j < d; j++) yi[j] = xi[j] + ub[j];
        } else {
#pragma omp simd
            for (int j = 0; j < d; j++) yi[j] = xi[j];
        }
    }
    if (m > 0) t4j::gemm(false, true, M, d, m, 1.0f, a, m, uw, m, 1.0f, y, d);
}

void t4j_adapter_bwd(float* dx, float* ddw, float* ddb, float* duw, float* dub, const float* dy, const float* x,
                     const float* h, const float* a, const float* dw, const float* uw, int M, int d, int m, int act,
                     float* ws) {
    if (M <= 0 || d <= 0) return;
    const int64_t Md = static_cast<int64_t>(M) * d;
    // residual branch
    if (dx) {
#pragma omp parallel for simd schedule(static) if (Md > 65536)
        for (int64_t e = 0; e < Md; e++) dx[e] += dy[e];
    }
    if (m <= 0) {
        t4j_linear_bwd(nullptr, nullptr, dub, dy, nullptr, nullptr, M, 0, d);
        return;
    }
    // up projection (input a [M,m], weight U [d,m]): dU += dy^T.a, dbu += colsum(dy)
    t4j_linear_bwd(nullptr, duw, dub, dy, a, uw, M, m, d);
    if (!dx && !ddw && !ddb) return;

    // g[M,m] = (dy.U) o act'(h) = dL/dh
    float* g = ws;
    t4j::gemm(false, false, M, m, d, 1.0f, dy, d, uw, m, 0.0f, g, m);
    activate_bwd(g, h, static_cast<int64_t>(M) * m, act);
    // down projection (input x [M,d], weight D [m,d]): dx += g.D, dD += g^T.x, dbd += colsum(g)
    t4j_linear_bwd(dx, ddw, ddb, g, x, dw, M, d, m);
}
