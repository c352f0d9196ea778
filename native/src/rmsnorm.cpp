// RMSNorm forward and backward. rstd is kept from forward so backward never recomputes the reduction.
// w_offset is added to every weight (Gemma scales by 1 + w); the offset-free loops are kept apart so the
// common case does no extra work.
#include "tune4j.h"

#include <cmath>

void t4j_rmsnorm_fwd(float* y, float* rstd, const float* x, const float* w, int M, int d, float eps, float w_offset) {
    // a decoding step's few rows cost less than waking the team (and a woken thread may wait for a core)
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(M) * d > 32768)
    for (int i = 0; i < M; i++) {
        const float* xi = x + static_cast<int64_t>(i) * d;
        float* yi = y + static_cast<int64_t>(i) * d;
        double ss = 0.0;
#pragma omp simd reduction(+ : ss)
        for (int j = 0; j < d; j++) ss += static_cast<double>(xi[j]) * xi[j];
        float r = static_cast<float>(1.0 / std::sqrt(ss / d + eps));
        if (rstd) rstd[i] = r;
        // y may alias x: each element is read before it is written
        if (w_offset == 0.0f) {
#pragma omp simd
            for (int j = 0; j < d; j++) yi[j] = xi[j] * r * w[j];
        } else {
#pragma omp simd
            for (int j = 0; j < d; j++) yi[j] = xi[j] * r * (w[j] + w_offset);
        }
    }
}

void t4j_rmsnorm_bwd(float* dx, float* dw, const float* dy, const float* x, const float* w, const float* rstd,
                     int M, int d, float w_offset) {
    if (dx) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < M; i++) {
            const float* xi = x + static_cast<int64_t>(i) * d;
            const float* dyi = dy + static_cast<int64_t>(i) * d;
            float* dxi = dx + static_cast<int64_t>(i) * d;
            const double r = rstd[i];
            // dx = r*w*dy - x * r^3 * mean(dy*w*x), in double: the two terms nearly cancel when a row
            // is dominated by one element (at d = 1 exactly: dx ~ eps / x^2)
            double dot = 0.0;
            if (w_offset == 0.0f) {
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j < d; j++) dot += static_cast<double>(dyi[j]) * w[j] * xi[j];
                const double c = dot / d * r * r * r;
#pragma omp simd
                for (int j = 0; j < d; j++)
                    dxi[j] = static_cast<float>(dxi[j] + (r * w[j] * dyi[j] - static_cast<double>(xi[j]) * c));
            } else {
                // the effective weight w + offset in double: 1 + w is exact there for any fp32 w
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j < d; j++)
                    dot += static_cast<double>(dyi[j]) * (static_cast<double>(w[j]) + w_offset) * xi[j];
                const double c = dot / d * r * r * r;
#pragma omp simd
                for (int j = 0; j < d; j++)
                    dxi[j] = static_cast<float>(
                        dxi[j] + (r * (static_cast<double>(w[j]) + w_offset) * dyi[j] - static_cast<double>(xi[j]) * c));
            }
        }
    }
    if (dw) {
        // parallel over columns so no two threads write the same dw element
#pragma omp parallel for schedule(static)
        for (int j0 = 0; j0 < d; j0 += 16) {
            int j1 = j0 + 16 < d ? j0 + 16 : d;
            double acc[16] = {0};
            for (int i = 0; i < M; i++) {
                const float* xi = x + static_cast<int64_t>(i) * d;
                const float* dyi = dy + static_cast<int64_t>(i) * d;
                float r = rstd[i];
                for (int j = j0; j < j1; j++) acc[j - j0] += static_cast<double>(dyi[j]) * xi[j] * r;
            }
            for (int j = j0; j < j1; j++) dw[j] += static_cast<float>(acc[j - j0]);
        }
    }
}
