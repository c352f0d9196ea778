// Segmented multi-adapter LoRA for serving (the SGMV/BGMV idea of Punica and S-LoRA): after one
// shared base GEMM over every row of the batch, each row adds the low-rank update of its own
// adapter. Inference only: there is no backward, since adapters being served are frozen and their
// training goes through the single-adapter op in lora.cpp.
//
// Rows are grouped by slot. A slot with few rows (decode) takes two fused dot-product loops per
// row, with the rows of all such slots spread over threads: its A and B stay in cache across its
// rows, and tiny sgemms would cost more in BLAS thread hand-offs than they compute. A slot with
// many rows (a prompt being prefilled) is two sgemms, straight on x and y when its rows are
// contiguous, else on rows gathered into the workspace with the result scatter-added.
#include "tune4j.h"

#include <cblas.h>

#include <cstring>

namespace {

// Groups with at least this many rows go through sgemm; smaller ones row by row.
constexpr int kGemmRows = 16;

// t[r] = A[r,K] . x[K]; y[N] += s . B[N,r] . t
void one_row(float* y, const float* x, const float* a, const float* b, int K, int N, int r, float s, float* t) {
    for (int j = 0; j < r; j++) {
        const float* aj = a + static_cast<int64_t>(j) * K;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int k = 0; k < K; k++) acc += aj[k] * x[k];
        t[j] = acc * s;  // scaling the r-vector is cheaper than scaling the N-vector
    }
    for (int n = 0; n < N; n++) {
        const float* bn = b + static_cast<int64_t>(n) * r;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int j = 0; j < r; j++) acc += bn[j] * t[j];
        y[n] += acc;
    }
}

}  // namespace

// ws layout: t [M, max_r] | row order [M] (int32 in float-sized cells) | gathered x [M, K] | product [M, N].
int64_t t4j_lora_multi_ws_floats(int M, int K, int N, int max_r) {
    if (M <= 0) return 0;
    if (max_r < 0) max_r = 0;
    return static_cast<int64_t>(M) * (static_cast<int64_t>(max_r) + 1 + K + N);
}

int t4j_lora_multi_fwd(float* y, const float* x, const int32_t* row_slot, int M, int K, int N,
                       const float* const* a, const float* const* b, const int32_t* ranks, const float* scales,
                       int n_slots, int max_r, float* ws) {
    if (M < 0 || K < 0 || N < 0 || n_slots < 0 || max_r < 0) return T4J_EINVAL;
    for (int i = 0; i < M; i++) {
        int s = row_slot[i];
        if (s < -1 || s >= n_slots) return T4J_ERANGE;
        if (s >= 0 && (ranks[s] < 0 || ranks[s] > max_r)) return T4J_EINVAL;
    }
    if (M == 0 || N == 0 || K == 0) return T4J_OK;

    float* t = ws;
    int32_t* order = reinterpret_cast<int32_t*>(ws + static_cast<int64_t>(M) * max_r);
    float* xg = ws + static_cast<int64_t>(M) * (max_r + 1);
    float* yg = xg + static_cast<int64_t>(M) * K;

    // order = rows grouped by slot (first appearance order), skipping rows that add nothing;
    // a group is a run of equal slots in order. O(M * groups), and M is at most a step's rows.
    int n = 0;
    for (int i = 0; i < M; i++) {
        int s = row_slot[i];
        if (s < 0 || ranks[s] == 0) continue;
        bool seen = false;
        for (int j = 0; j < n && !seen; j++) seen = row_slot[order[j]] == s;
        if (seen) continue;
        for (int k = i; k < M; k++) if (row_slot[k] == s) order[n++] = k;
    }
    if (n == 0) return T4J_OK;

    // small groups, row by row; rows are independent, so threads split them when the work is worth it
    int64_t small_work = 0;
    int32_t* small = reinterpret_cast<int32_t*>(xg);  // row list of the small groups (xg is free until the sgemms)
    int n_small = 0;
    for (int g0 = 0; g0 < n;) {
        int s = row_slot[order[g0]], g1 = g0 + 1;
        while (g1 < n && row_slot[order[g1]] == s) g1++;
        if (g1 - g0 < kGemmRows) {
            for (int p = g0; p < g1; p++) small[n_small++] = order[p];
            small_work += static_cast<int64_t>(g1 - g0) * ranks[s] * (K + N);
        }
        g0 = g1;
    }
#pragma omp parallel for schedule(static) if (small_work > 262144)
    for (int p = 0; p < n_small; p++) {
        int row = small[p], s = row_slot[row];
        one_row(y + static_cast<int64_t>(row) * N, x + static_cast<int64_t>(row) * K, a[s], b[s], K, N, ranks[s],
                scales[s], t + static_cast<int64_t>(row) * max_r);
    }

    for (int g0 = 0; g0 < n;) {
        int s = row_slot[order[g0]], g1 = g0 + 1;
        while (g1 < n && row_slot[order[g1]] == s) g1++;
        int m = g1 - g0, r = ranks[s], first = order[g0];
        if (m >= kGemmRows) {
            bool contiguous = order[g1 - 1] - first == m - 1;  // rows are increasing within a group
            if (contiguous) {
                // t[m,r] = x_rows . A^T ; y_rows += s . t . B^T
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, r, K, 1.0f, x + static_cast<int64_t>(first) * K,
                            K, a[s], K, 0.0f, t, r);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, N, r, scales[s], t, r, b[s], r, 1.0f,
                            y + static_cast<int64_t>(first) * N, N);
            } else {
                for (int p = 0; p < m; p++) {
                    std::memcpy(xg + static_cast<int64_t>(p) * K, x + static_cast<int64_t>(order[g0 + p]) * K,
                                sizeof(float) * K);
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, r, K, 1.0f, xg, K, a[s], K, 0.0f, t, r);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, N, r, scales[s], t, r, b[s], r, 0.0f, yg, N);
                for (int p = 0; p < m; p++) {
                    float* yr = y + static_cast<int64_t>(order[g0 + p]) * N;
                    const float* src = yg + static_cast<int64_t>(p) * N;
#pragma omp simd
                    for (int c = 0; c < N; c++) yr[c] += src[c];
                }
            }
        }
        g0 = g1;
    }
    return T4J_OK;
}
