// Fused LoRA linear: y = x.W^T (+bias) + s.(drop(x).A^T).B^T with A [r,K], B [N,r].
// The low-rank path is two thin sgemms; the second adds straight into y (beta=1), so no M x N
// temporary exists. Dropout is recomputed from (seed, element index) in backward rather than stored.
#include "tune4j.h"

#include "gemm.h"

namespace {

// splitmix64 finaliser: a bijective avalanche mix, good enough to turn a counter into random bits.
inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;

// The dropout mask as a pure function of (seed, element index): element e of x is kept iff the top
// 24 bits of mix(key + (e+1)*gamma) reach the threshold. Forward and backward construct the same
// Dropout from the same arguments, so the mask never needs to be stored and does not depend on
// how the loop is split across threads.
struct Dropout {
    uint64_t key;
    uint64_t threshold;  // in units of 2^-24; 2^24 drops everything
    float inv_keep;      // 1/(1-p), or 0 when everything is dropped

    Dropout(uint64_t seed, float p) {
        // mixing the seed first keeps nearby seeds (seed, seed+1, ...) from yielding shifted copies
        key = mix64(seed + kGamma);
        if (p >= 1.0f) {
            threshold = 1ull << 24;
            inv_keep = 0.0f;
        } else {
            threshold = static_cast<uint64_t>(static_cast<double>(p) * 16777216.0);
            inv_keep = 1.0f / (1.0f - p);
        }
    }

    bool keep(int64_t e) const { return (mix64(key + static_cast<uint64_t>(e + 1) * kGamma) >> 40) >= threshold; }
};

// out[e] = keep(e) ? x[e] / (1-p) : 0 over the M*K elements of x.
void apply_dropout(float* out, const float* x, int64_t n, const Dropout& d) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t e = 0; e < n; e++) out[e] = d.keep(e) ? x[e] * d.inv_keep : 0.0f;
}

}  // namespace

// ws layout: dt [M,r] first (backward only), then drop(x) [M,K] when dropout > 0. Forward uses only
// the drop(x) part; backward reuses that same region for drop(x) and then for dt.A.
int64_t t4j_lora_ws_floats(int M, int K, int N, int r, float dropout) {
    int64_t n = static_cast<int64_t>(M) * r;
    if (dropout > 0.0f) n += static_cast<int64_t>(M) * K;
    return n > 0 ? n : 0;
}

namespace {
// Under bf16 products, y = [x | s.t] . [W | B]^T as one product: x is converted once and y written
// once, instead of a base product and then a low-rank one that reads y back.
bool lora_fwd_joined(float* y, const float* t, const float* x, const float* w, const float* bias, const float* b,
                     int M, int K, int N, int r, float scale) {
    if (M <= 2 || K <= 0 || N <= 0 || !t4j::bf16_matmul_active()) return false;
    const t4j::KPart parts[2] = {{false, x, K, true, w, K, K, 1.0f}, {false, t, r, true, b, r, r, scale}};
    if (!t4j::gemm_joined(M, N, parts, 2, 1.0f, 0.0f, y, N)) return false;
    if (bias) t4j::add_rows(y, bias, M, N);
    return true;
}
}  // namespace

void t4j_lora_fwd(float* y, float* t, const float* x, const float* w, const float* bias, const float* a,
                  const float* b, int M, int K, int N, int r, float scale, float dropout, uint64_t seed, float* ws) {
    if (M <= 0 || r <= 0) {
        t4j_linear_fwd(y, x, w, bias, M, K, N);
        return;
    }

    // t[M,r] = drop(x) . A^T
    if (K > 0) {
        const float* xs = x;
        if (dropout > 0.0f) {
            float* xd = ws + static_cast<int64_t>(M) * r;
            apply_dropout(xd, x, static_cast<int64_t>(M) * K, Dropout(seed, dropout));
            xs = xd;
        }
        t4j::gemm(false, true, M, r, K, 1.0f, xs, K, a, K, 0.0f, t, r);
    } else {
        for (int64_t e = 0; e < static_cast<int64_t>(M) * r; e++) t[e] = 0.0f;
    }
    if (lora_fwd_joined(y, t, x, w, bias, b, M, K, N, r, scale)) return;
    t4j_linear_fwd(y, x, w, bias, M, K, N);
    // y[M,N] += s . t . B^T
    if (N > 0) t4j::gemm(false, true, M, N, r, scale, t, r, b, r, 1.0f, y, N);
}

void t4j_lora_bwd(float* dx, float* dw, float* dbias, float* da, float* db, const float* dy, const float* x,
                  const float* t, const float* w, const float* a, const float* b, int M, int K, int N, int r,
                  float scale, float dropout, uint64_t seed, float* ws) {
    // under bf16 products (and no dropout) dx's two terms wait for dt and go in as one joined product
    const bool join = dx && dropout <= 0.0f && M > 2 && N > 0 && K > 0 && r > 0 && t4j::bf16_matmul_active();
    // frozen (or full fine-tuning) base path: dx += dy.W, dW += dy^T.x, dbias += colsum(dy)
    t4j_linear_bwd(join ? nullptr : dx, dw, dbias, dy, x, w, M, K, N);
    if (M <= 0 || N <= 0 || r <= 0) return;

    // dB[N,r] += s . dy^T . t
    if (db) t4j::gemm(true, false, N, r, M, scale, dy, N, t, r, 1.0f, db, r);
    if ((!dx && !da) || K <= 0) return;

    // dt[M,r] = s . dy . B
    float* dt = ws;
    t4j::gemm(false, false, M, r, N, scale, dy, N, b, r, 0.0f, dt, r);

    if (dropout <= 0.0f) {
        // dA[r,K] += dt^T . x ; dx[M,K] += dt . A
        if (da) t4j::gemm(true, false, r, K, M, 1.0f, dt, r, x, K, 1.0f, da, K);
        if (!dx) return;
        if (join) {
            // dx[M,K] += [dy | dt] . [W ; A]
            const t4j::KPart parts[2] = {{false, dy, N, false, w, K, N, 1.0f}, {false, dt, r, false, a, K, r, 1.0f}};
            if (t4j::gemm_joined(M, K, parts, 2, 1.0f, 1.0f, dx, K)) return;
            t4j::gemm(false, false, M, K, N, 1.0f, dy, N, w, K, 1.0f, dx, K);
        }
        t4j::gemm(false, false, M, K, r, 1.0f, dt, r, a, K, 1.0f, dx, K);
        return;
    }

    const Dropout drop(seed, dropout);
    const int64_t n = static_cast<int64_t>(M) * K;
    float* buf = ws + static_cast<int64_t>(M) * r;
    if (da) {
        // dA += dt^T . drop(x), with drop(x) regenerated from the seed
        apply_dropout(buf, x, n, drop);
        t4j::gemm(true, false, r, K, M, 1.0f, dt, r, buf, K, 1.0f, da, K);
    }
    if (dx) {
        // dx += mask o (dt . A) / (1-p); the drop(x) buffer is free again and holds dt . A
        t4j::gemm(false, false, M, K, r, 1.0f, dt, r, a, K, 0.0f, buf, K);
#pragma omp parallel for simd schedule(static) if (n > 65536)
        for (int64_t e = 0; e < n; e++) dx[e] += drop.keep(e) ? buf[e] * drop.inv_keep : 0.0f;
    }
}
