// Next-token selection for decoding: greedy or temperature sampling with top-k / top-p filters.
// The caller supplies the uniform coin, so a fixed seed replays a generation exactly.
#include "tune4j.h"
#include "vexp.h"

#include <algorithm>
#include <cmath>
#include <cstring>

// Two vector passes, the maximum and then its first index, instead of one branchy scalar pass: greedy
// decoding runs this over the vocabulary for every row of every step (16 rows: 4% of a step).
int t4j_argmax(const float* x, int n) {
    if (n <= 0) return 0;
    // NaN never wins: a comparison with NaN is false, so it never replaces the running maximum
    float m = -INFINITY;
    int i = 0;
#if defined(__AVX2__)
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(_mm256_loadu_ps(x + i), vm);  // NaN lane of x: keeps vm
    float lanes[8];
    _mm256_storeu_ps(lanes, vm);
    for (float v : lanes) m = v > m ? v : m;
#endif
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    int j = 0;
#if defined(__AVX2__)
    const __m256 target = _mm256_set1_ps(m);
    for (; j + 8 <= n; j += 8) {
        int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j), target, _CMP_EQ_OQ));
        if (hit) return j + __builtin_ctz(hit);  // the first of equal maxima
    }
#endif
    for (; j < n; j++) {
        if (x[j] == m) return j;
    }
    return n - 1;  // every value is NaN
}

namespace {

// CTRL / Hugging Face repetition penalty: each distinct recent id once, making its logit less likely
// whatever its sign. ws[id] serves as the "already penalised" mark, reset only at the recent ids.
void apply_repetition_penalty(float* logits, int V, float penalty, const int32_t* recent, int n_recent, float* ws) {
    if (penalty == 1.0f || !recent || n_recent <= 0) return;
    for (int i = 0; i < n_recent; i++) {
        int id = recent[i];
        if (id >= 0 && id < V) ws[id] = 0.0f;
    }
    for (int i = 0; i < n_recent; i++) {
        int id = recent[i];
        if (id < 0 || id >= V || ws[id] != 0.0f) continue;  // ids outside the vocabulary are ignored
        ws[id] = 1.0f;
        float l = logits[id];
        logits[id] = l > 0.0f ? l / penalty : l * penalty;
    }
}

// Orders candidate ids by probability, highest first; ids break ties so the order is total (and
// the result reproducible across standard libraries).
struct ByProb {
    const float* p;
    bool operator()(int32_t a, int32_t b) const { return p[a] > p[b] || (p[a] == p[b] && a < b); }
};

}  // namespace

int t4j_sample(float* logits, int V, float temperature, int top_k, float top_p, float repetition_penalty,
               const int32_t* recent, int n_recent, float coin, float* ws) {
    if (V <= 0) return T4J_EINVAL;
    apply_repetition_penalty(logits, V, repetition_penalty, recent, n_recent, ws);
    if (!(temperature > 0.0f)) return t4j_argmax(logits, V);

    // ws[0..V): unnormalised probabilities; ws[V..2V): candidate ids (int32 stored in the float slots)
    float* p = ws;
    int32_t* idx = reinterpret_cast<int32_t*>(ws + V);
    const int best = t4j_argmax(logits, V);
    const float mx = logits[best];
    const float invT = 1.0f / temperature;
    const double total = t4j_vexp_sum(p, logits, V, mx, invT, 1.0f);

    const bool use_k = top_k > 0 && top_k < V;
    const bool use_p = top_p < 1.0f;
    int n = V;  // candidates: idx[0..n) sorted by probability, or all ids in order when unfiltered
    if (use_k || use_p) {
        for (int i = 0; i < V; i++) idx[i] = i;
        ByProb cmp{p};
        if (use_k) {
            n = top_k;
            std::nth_element(idx, idx + n - 1, idx + V, cmp);
            std::sort(idx, idx + n, cmp);
        } else {
            // nucleus without a full sort: grow a top-n prefix until it holds top_p of the mass
            n = std::min(V, 64);
            for (;;) {
                std::nth_element(idx, idx + n - 1, idx + V, cmp);
                double s = 0.0;
                for (int i = 0; i < n; i++) s += p[idx[i]];
                if (n == V || s >= top_p * total) break;
                n = std::min(V, n * 4);
            }
            std::sort(idx, idx + n, cmp);
        }
        if (use_p) {
            double mass = 0.0;
            for (int i = 0; i < n; i++) mass += p[idx[i]];
            // smallest prefix whose share of the (top-k filtered) mass reaches top_p; at least one token
            double need = top_p * mass, cum = 0.0;
            int keep = n;
            for (int i = 0; i < n; i++) {
                cum += p[idx[i]];
                if (cum >= need) {
                    keep = i + 1;
                    break;
                }
            }
            n = std::max(1, keep);
        }
        double kept = 0.0;
        for (int i = 0; i < n; i++) kept += p[idx[i]];
        double target = static_cast<double>(coin) * kept, cum = 0.0;
        for (int i = 0; i < n; i++) {
            cum += p[idx[i]];
            if (target < cum) return idx[i];
        }
        return idx[n - 1];  // coin rounding at the very top
    }
    double target = static_cast<double>(coin) * total, cum = 0.0;
    int last = best;
    for (int i = 0; i < V; i++) {
        if (p[i] <= 0.0f) continue;
        cum += p[i];
        last = i;
        if (target < cum) return i;
    }
    return last;
}
