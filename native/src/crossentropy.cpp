// Softmax cross-entropy fused with its gradient, and the LM head fused with both so that the [M,V]
// logits of a whole batch never exist (V is 32k-128k for Llama models).
#include "tune4j.h"
#include "vexp.h"
#include "vtanh.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "gemm.h"

namespace {

constexpr int CHUNK = 512;  // vocabulary chunk: stays in L1 between its max pass and its exp pass

// soft-capping: 0 (none) or a finite positive cap
inline bool valid_cap(float cap) { return cap == 0.0f || (cap > 0.0f && !std::isinf(cap)); }

int check_targets(const int32_t* targets, int M, int V) {
    for (int i = 0; i < M; i++) {
        int t = targets[i];
        if (t != T4J_IGNORE_INDEX && (t < 0 || t >= V)) return T4J_ERANGE;
    }
    return T4J_OK;
}

// x[j] = (k * exp(x[j] - m)) * (1 - (x[j] * inv)^2): the capped logits' softmax gradient carried back
// through cap * tanh(. / cap), whose derivative 1 - tanh^2 comes from the capped value itself.
void capped_grad(float* x, int V, float m, float k, float inv) {
    int j = 0;
#if defined(__AVX2__) && defined(__FMA__)
    const __m256 vm = _mm256_set1_ps(m), vk = _mm256_set1_ps(k), vi = _mm256_set1_ps(inv), one = _mm256_set1_ps(1.0f);
    for (; j + 8 <= V; j += 8) {
        const __m256 v = _mm256_loadu_ps(x + j);
        const __m256 e = _mm256_mul_ps(t4j_vexp8(_mm256_sub_ps(v, vm)), vk);
        const __m256 tt = _mm256_mul_ps(v, vi);
        _mm256_storeu_ps(x + j, _mm256_mul_ps(e, _mm256_mul_ps(_mm256_sub_ps(one, tt), _mm256_add_ps(one, tt))));
    }
#endif
    for (; j < V; j++) {
        const float tt = x[j] * inv;
        x[j] = t4j_vexp(x[j] - m) * k * ((1.0f - tt) * (1.0f + tt));
    }
}

// One row: returns -log softmax(x)[t] and, when grad_scale != 0, replaces x with
// grad_scale * (softmax(x) - onehot(t)). The statistics come from a single sweep over memory: each chunk
// is read for its max, then (from L1) for its exp-sum, rescaling the running sum when the max grows.
// CAP: the row is first capped in place, chunk by chunk, to cap * tanh(x / cap), and the gradient is
// then the one with respect to the raw logits.
template <bool CAP>
double row_ce(float* x, int V, int t, float grad_scale, float cap) {
    float m = -INFINITY;
    double sum = 0.0;
    for (int c0 = 0; c0 < V; c0 += CHUNK) {
        int c1 = std::min(V, c0 + CHUNK);
        if (CAP) t4j_vtanh_scale(x + c0, x + c0, c1 - c0, 1.0f / cap, cap);
        float cm = -INFINITY;
#pragma omp simd reduction(max : cm)
        for (int j = c0; j < c1; j++) cm = std::max(cm, x[j]);
        if (cm > m) {
            sum *= std::exp(static_cast<double>(m) - cm);  // exp(-inf) = 0 on the first chunk
            m = cm;
        }
        double cs = t4j_vexp_sum(nullptr, x + c0, c1 - c0, m, 1.0f, 1.0f);
        sum += cs;
    }
    double lse = m + std::log(sum);
    double loss = lse - x[t];
    if (grad_scale != 0.0f) {
        if (CAP) {
            const float inv = 1.0f / cap, tt = x[t] * inv;
            const float dt = (1.0f - tt) * (1.0f + tt);  // read before the row is overwritten
            capped_grad(x, V, m, static_cast<float>(grad_scale / sum), inv);
            x[t] -= grad_scale * dt;
        } else {
            t4j_vexp_sum(x, x, V, m, 1.0f, static_cast<float>(grad_scale / sum));
            x[t] -= grad_scale;
        }
    }
    return loss;
}

}  // namespace

int t4j_cross_entropy(float* losses, float* logits, const int32_t* targets, int M, int V, float grad_scale) {
    if (M < 0 || V <= 0) return T4J_EINVAL;
    int rc = check_targets(targets, M, V);
    if (rc != T4J_OK) return rc;
    int counted = 0;
#pragma omp parallel for schedule(static) reduction(+ : counted)
    for (int i = 0; i < M; i++) {
        float* x = logits + static_cast<int64_t>(i) * V;
        int t = targets[i];
        if (t == T4J_IGNORE_INDEX) {
            if (losses) losses[i] = 0.0f;
            if (grad_scale != 0.0f) std::fill(x, x + V, 0.0f);
            continue;
        }
        double loss = row_ce<false>(x, V, t, grad_scale, 0.0f);
        if (losses) losses[i] = static_cast<float>(loss);
        counted++;
    }
    return counted;
}

int t4j_lmhead_cross_entropy(double* loss_out, float* dh, float* dw, const float* h, const float* w,
                             const int32_t* targets, int M, int d, int V, float softcap, float grad_scale, float* ws,
                             int block_rows) {
    if (M < 0 || d <= 0 || V <= 0 || block_rows <= 0 || !loss_out || !valid_cap(softcap)) return T4J_EINVAL;
    int rc = check_targets(targets, M, V);
    if (rc != T4J_OK) return rc;
    const bool grad = (dh || dw) && grad_scale != 0.0f;
    double total = 0.0;
    int counted = 0;
    // w serves every row block: under bf16 precision it is converted once per call, not per block
    const int rows = std::min(block_rows, M);
    const t4j::GemmB logits_w(true, d, V, w, d, rows);
    std::optional<t4j::GemmB> dh_w;
    if (grad && dh) dh_w.emplace(false, V, d, w, d, rows);
    for (int r0 = 0; r0 < M; r0 += block_rows) {
        const int br = std::min(block_rows, M - r0);
        const float* hb = h + static_cast<int64_t>(r0) * d;
        // logits [br,V] = h_blk [br,d] . w[V,d]^T
        logits_w.multiply(false, br, 1.0f, hb, d, 0.0f, ws, V);
        double block_loss = 0.0;
        int block_count = 0;
#pragma omp parallel for schedule(static) reduction(+ : block_loss, block_count)
        for (int i = 0; i < br; i++) {
            float* x = ws + static_cast<int64_t>(i) * V;
            int t = targets[r0 + i];
            if (t == T4J_IGNORE_INDEX) {
                if (grad) std::fill(x, x + V, 0.0f);
                continue;
            }
            block_loss += softcap > 0.0f ? row_ce<true>(x, V, t, grad ? grad_scale : 0.0f, softcap)
                                         : row_ce<false>(x, V, t, grad ? grad_scale : 0.0f, 0.0f);
            block_count++;
        }
        total += block_loss;
        counted += block_count;
        if (!grad || block_count == 0) continue;
        // dh_blk += dlogits [br,V] . w [V,d] ;  dw += dlogits^T [V,br] . h_blk [br,d]
        if (dh) dh_w->multiply(false, br, 1.0f, ws, V, 1.0f, dh + static_cast<int64_t>(r0) * d, d);
        if (dw) t4j::gemm(true, false, V, d, br, 1.0f, ws, V, hb, d, 1.0f, dw, d);
    }
    loss_out[0] = total;
    loss_out[1] = counted;
    return counted;
}

int t4j_lmhead_sequence_logprobs(double* logp, int32_t* counts, float* dh, float* dw, const float* h, const float* w,
                                 const int32_t* targets, const float* seq_weight, int B, int T, int d, int V,
                                 float softcap, float* ws, int block_rows) {
    if (B < 0 || T <= 0 || d <= 0 || V <= 0 || block_rows <= 0 || !logp || !counts || !valid_cap(softcap))
        return T4J_EINVAL;
    const int M = B * T;
    int rc = check_targets(targets, M, V);
    if (rc != T4J_OK) return rc;
    const bool grad = (dh || dw) && seq_weight;
    if ((dh || dw) && !seq_weight) return T4J_EINVAL;
    std::fill(logp, logp + B, 0.0);
    std::fill(counts, counts + B, 0);
    const int rows = std::min(block_rows, std::max(M, 1));
    const t4j::GemmB logits_w(true, d, V, w, d, rows);
    std::optional<t4j::GemmB> dh_w;
    if (grad && dh) dh_w.emplace(false, V, d, w, d, rows);
    // rows of a block are reduced in parallel into row_lp, then added in row order: the per-sequence sums do
    // not depend on the thread count
    std::vector<double> row_lp(rows);
    for (int r0 = 0; r0 < M; r0 += block_rows) {
        const int br = std::min(block_rows, M - r0);
        const float* hb = h + static_cast<int64_t>(r0) * d;
        logits_w.multiply(false, br, 1.0f, hb, d, 0.0f, ws, V);
        int block_count = 0;
#pragma omp parallel for schedule(static) reduction(+ : block_count)
        for (int i = 0; i < br; i++) {
            float* x = ws + static_cast<int64_t>(i) * V;
            const int t = targets[r0 + i];
            const float wgt = grad ? seq_weight[(r0 + i) / T] : 0.0f;
            row_lp[i] = 0.0;
            if (t == T4J_IGNORE_INDEX) {
                if (grad) std::fill(x, x + V, 0.0f);
                continue;
            }
            // d(wgt * log p)/dlogits = -wgt * (softmax - onehot): the cross-entropy gradient scaled by -wgt
            row_lp[i] = softcap > 0.0f ? -row_ce<true>(x, V, t, -wgt, softcap) : -row_ce<false>(x, V, t, -wgt, 0.0f);
            if (grad && wgt == 0.0f) std::fill(x, x + V, 0.0f);
            block_count++;
        }
        for (int i = 0; i < br; i++) {
            const int b = (r0 + i) / T;
            if (targets[r0 + i] == T4J_IGNORE_INDEX) continue;
            logp[b] += row_lp[i];
            counts[b]++;
        }
        if (!grad || block_count == 0) continue;
        if (dh) dh_w->multiply(false, br, 1.0f, ws, V, 1.0f, dh + static_cast<int64_t>(r0) * d, d);
        if (dw) t4j::gemm(true, false, V, d, br, 1.0f, ws, V, hb, d, 1.0f, dw, d);
    }
    int total = 0;
    for (int b = 0; b < B; b++) total += counts[b];
    return total;
}
