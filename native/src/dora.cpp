// DoRA (weight-decomposed LoRA): each output row j of the adapted weight V = W + s.B.A is rescaled to
// the trained magnitude m_j, y = (m/||V||) o (x.W^T + s.(x.A^T).B^T) + bias. The norm ||V_j|| is
// detached from the gradient, as PEFT and the paper do, so it has no backward; the row scale does.
// The low-rank projection itself is the fused LoRA op (lora.cpp); these ops only add the norm and
// the per-row scale around it.
#include "tune4j.h"

#include "gemm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

namespace {
// Rows of V built at a time per thread: enough to make the s.B.A product a real GEMM, small enough
// that the block stays in L2 for the norm pass that reads it straight back.
constexpr int kRowBlock = 32;

int norm_threads() { return std::max(1, std::min(omp_get_max_threads(), omp_get_num_procs())); }
}  // namespace

int64_t t4j_dora_norm_ws_floats(int K, int N, int r) {
    if (K <= 0 || N <= 0) return 0;
    return static_cast<int64_t>(std::max(1, omp_get_num_procs())) * kRowBlock * K;
}

void t4j_dora_norm(float* norm, float* g, const float* w, const float* a, const float* b, const float* m, int K,
                   int N, int r, float scale, float* ws) {
    if (N <= 0) return;
    const int nblocks = (N + kRowBlock - 1) / kRowBlock;
    // one block of V per thread: the ws holds omp_get_num_procs() of them, so never more threads than that
#pragma omp parallel num_threads(norm_threads()) if (static_cast<int64_t>(N) * K * (r + 1) > (int64_t{1} << 16))
    {
        float* v = ws + static_cast<int64_t>(omp_get_thread_num()) * kRowBlock * K;
#pragma omp for schedule(static)
        for (int blk = 0; blk < nblocks; blk++) {
            const int j0 = blk * kRowBlock, rows = std::min(kRowBlock, N - j0);
            std::copy(w + static_cast<int64_t>(j0) * K, w + static_cast<int64_t>(j0 + rows) * K, v);
            if (r > 0 && K > 0) {
                t4j::sgemm_serial(false, false, rows, K, r, scale, b + static_cast<int64_t>(j0) * r, r, a, K, 1.0f, v, K);
            }
            for (int i = 0; i < rows; i++) {
                const float* vi = v + static_cast<int64_t>(i) * K;
                // double sums: K reaches the tens of thousands, and the norm divides every output of the row
                double s = 0.0;
#pragma omp simd reduction(+ : s)
                for (int k = 0; k < K; k++) s += static_cast<double>(vi[k]) * vi[k];
                const float n = static_cast<float>(std::sqrt(s));
                norm[j0 + i] = n;
                // a zero row has no direction: PEFT divides by zero there too; keep the output finite
                // (the row computes nothing whatever its magnitude)
                if (g) g[j0 + i] = n > 0.0f ? m[j0 + i] / n : 0.0f;
            }
        }
    }
}

void t4j_dora_scale_fwd(float* y, const float* u, const float* g, const float* bias, int M, int N) {
    const int64_t n = static_cast<int64_t>(M) * N;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int i = 0; i < M; i++) {
        const float* ui = u + static_cast<int64_t>(i) * N;
        float* yi = y + static_cast<int64_t>(i) * N;
        if (bias) {
#pragma omp simd
            for (int j = 0; j < N; j++) yi[j] = g[j] * ui[j] + bias[j];
        } else {
#pragma omp simd
            for (int j = 0; j < N; j++) yi[j] = g[j] * ui[j];
        }
    }
}

void t4j_dora_scale_bwd(float* du, float* dm, float* dbias, const float* dy, const float* u, const float* g,
                        const float* norm, int M, int N) {
    if (du) {
        const int64_t n = static_cast<int64_t>(M) * N;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int i = 0; i < M; i++) {
            const float* dyi = dy + static_cast<int64_t>(i) * N;
            float* dui = du + static_cast<int64_t>(i) * N;
#pragma omp simd
            for (int j = 0; j < N; j++) dui[j] = g[j] * dyi[j];
        }
    }
    if (!dm && !dbias) return;
    // column sums over the rows: each thread owns a range of columns, so no two threads write one value
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(M) * N > 65536)
    for (int j0 = 0; j0 < N; j0 += 64) {
        const int j1 = std::min(N, j0 + 64);
        double sm[64] = {0}, sb[64] = {0};
        for (int i = 0; i < M; i++) {
            const float* dyi = dy + static_cast<int64_t>(i) * N;
            const float* ui = u + static_cast<int64_t>(i) * N;
            for (int j = j0; j < j1; j++) {
                sm[j - j0] += static_cast<double>(dyi[j]) * ui[j];
                sb[j - j0] += dyi[j];
            }
        }
        for (int j = j0; j < j1; j++) {
            // d y_ij / d m_j = u_ij / ||V_j|| with the norm held constant
            if (dm && norm[j] > 0.0f) dm[j] += static_cast<float>(sm[j - j0] / norm[j]);
            if (dbias) dbias[j] += static_cast<float>(sb[j - j0]);
        }
    }
}
