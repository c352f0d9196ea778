// Fused LoRA linear: y = x.W^T (+bias) + s.(drop(x).A^T).B^T with A [r,K], B [N,r].
// The low-rank path is two thin sgemms; the second adds straight into y (beta=1), so no M x N
// temporary exists. Dropout is recomputed from (seed, element index) in backward rather than stored.
#include "tune4j.h"

#include "gemm.h"

#include <omp.h>

#include <algorithm>

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

// the same over elements e0..e1 only, on the calling thread
void apply_dropout_range(float* out, const float* x, int64_t e0, int64_t e1, const Dropout& d) {
#pragma omp simd
    for (int64_t e = e0; e < e1; e++) out[e] = d.keep(e) ? x[e] * d.inv_keep : 0.0f;
}

}  // namespace

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

// The three rank-r gradients of a training step over rows m0..m1: dt = s.dy.B (kept for dx),
// dB += s.dy^T.t and dA += dt^T.x, with dB and dA summed into this thread's part (added together at
// the end, so no two threads write one value). Each is an fp32 sgemm on the calling thread, whatever
// the matmul precision: OpenBLAS's kernels run these thin shapes faster than the hand-written single
// pass over the rows that was here (0.60-0.65 against 0.81-0.95 ms on Zen 4; its 4 x 16 accumulators
// spilled from AVX2's registers).
int grad_threads() { return std::max(1, std::min(omp_get_max_threads(), omp_get_num_procs())); }

int64_t grad_part_floats(int K, int N, int r) { return static_cast<int64_t>(N) * r + static_cast<int64_t>(r) * K; }

void lowrank_rows(float* dt, float* pdb, float* pda, const float* dy, const float* x, const float* t, const float* b,
                  int m0, int m1, int K, int N, int r, float scale) {
    const int rows = m1 - m0;
    if (rows <= 0) return;
    const float* dyr = dy + static_cast<int64_t>(m0) * N;
    float* dtr = dt + static_cast<int64_t>(m0) * r;
    t4j::sgemm_serial(false, false, rows, r, N, scale, dyr, N, b, r, 0.0f, dtr, r);
    t4j::sgemm_serial(true, false, N, r, rows, scale, dyr, N, t + static_cast<int64_t>(m0) * r, r, 1.0f, pdb, r);
    t4j::sgemm_serial(true, false, r, K, rows, 1.0f, dtr, r, x + static_cast<int64_t>(m0) * K, K, 1.0f, pda, K);
}

// After the team's barrier: each thread adds a slice of the nt per-thread parts ([dB | dA], per
// floats each) into the gradients.
void add_parts(float* da, float* db, const float* part, int64_t per, int64_t ndb, int id, int nt) {
    const int64_t v0 = per * id / nt, v1 = per * (id + 1) / nt;
    for (int64_t v = v0; v < v1; v++) {
        float sum = 0.0f;
        for (int p = 0; p < nt; p++) sum += part[p * per + v];
        if (v < ndb) {
            db[v] += sum;
        } else {
            da[v - ndb] += sum;
        }
    }
}

void lowrank_grads(float* dt, float* da, float* db, const float* dy, const float* x, const float* t, const float* b,
                   int M, int K, int N, int r, float scale, float* part) {
    const int64_t per = grad_part_floats(K, N, r);
    const int64_t ndb = static_cast<int64_t>(N) * r;
#pragma omp parallel num_threads(grad_threads()) if (static_cast<int64_t>(M) * (N + K) * r > (int64_t{1} << 18))
    {
        const int nt = omp_get_num_threads(), id = omp_get_thread_num();
        float* pdb = part + id * per;
        float* pda = pdb + ndb;
        std::fill(pdb, pdb + per, 0.0f);
        const int m0 = static_cast<int>(static_cast<int64_t>(M) * id / nt);
        const int m1 = static_cast<int>(static_cast<int64_t>(M) * (id + 1) / nt);
        lowrank_rows(dt, pdb, pda, dy, x, t, b, m0, m1, K, N, r, scale);
#pragma omp barrier
        add_parts(da, db, part, per, ndb, id, nt);
    }
}
}  // namespace

// ws layout: dt [M,r] first (backward only), then drop(x) [M,K] when dropout > 0, then the
// per-thread partial sums of dA and dB. Forward uses only the drop(x) part; backward reuses that
// same region for drop(x) and then for dt.A.
int64_t t4j_lora_ws_floats(int M, int K, int N, int r, float dropout) {
    if (M <= 0 || r <= 0) return 0;
    const int64_t dropped = dropout > 0.0f ? static_cast<int64_t>(M) * std::max(K, 0) : 0;
    const int64_t parts = std::max(1, omp_get_num_procs()) * grad_part_floats(std::max(K, 0), std::max(N, 0), r);
    return static_cast<int64_t>(M) * r + dropped + parts;
}

namespace {
// fp32 training shapes run each direction as one OpenMP region in which every thread takes a block
// of rows through all of the op's products (t4j::gemm inside a region runs on the calling thread):
// forward and backward are row-wise except for dA and dB, summed per thread. Six regions become
// two, which matters most when the workers sleep between regions (OMP_WAIT_POLICY=PASSIVE: a
// wake-up costs 20-70 us on 2-vCPU VMs), and a thread's rows of y or dx are still in its caches
// when the low-rank term is added to them.
int team_threads(int M, int K, int N) {
    if (omp_in_parallel() || t4j::bf16_matmul_active() || K <= 0 || N <= 0) return 0;
    const int threads = grad_threads();
    // fewer rows than this a thread, and splitting N (what t4j::gemm does then) balances better
    return threads > 1 && M >= 32 * threads ? threads : 0;
}

void thread_rows(int M, int& m0, int& m1) {
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    m0 = static_cast<int>(static_cast<int64_t>(M) * id / nt);
    m1 = static_cast<int>(static_cast<int64_t>(M) * (id + 1) / nt);
}

void lora_fwd_team(float* y, float* t, const float* x, const float* w, const float* bias, const float* a,
                   const float* b, int M, int K, int N, int r, float scale, float dropout, uint64_t seed, float* ws,
                   int threads) {
    const Dropout drop(seed, dropout);
#pragma omp parallel num_threads(threads)
    {
        int m0, m1;
        thread_rows(M, m0, m1);
        const int rows = m1 - m0;
        if (rows > 0) {
            const int64_t xo = static_cast<int64_t>(m0) * K, yo = static_cast<int64_t>(m0) * N;
            const float* xs = x;
            if (dropout > 0.0f) {
                float* xd = ws + static_cast<int64_t>(M) * r;
                apply_dropout_range(xd, x, xo, static_cast<int64_t>(m1) * K, drop);
                xs = xd;
            }
            float* tr = t + static_cast<int64_t>(m0) * r;
            t4j::gemm(false, true, rows, r, K, 1.0f, xs + xo, K, a, K, 0.0f, tr, r);
            // y's rows seeded with the bias (or 0), then the product added
            float* yr = y + yo;
            for (int i = 0; i < rows; i++) {
                float* yi = yr + static_cast<int64_t>(i) * N;
                if (bias) {
                    std::copy(bias, bias + N, yi);
                } else {
                    std::fill(yi, yi + N, 0.0f);
                }
            }
            t4j::gemm(false, true, rows, N, K, 1.0f, x + xo, K, w, K, 1.0f, yr, N);
            t4j::gemm(false, true, rows, N, r, scale, tr, r, b, r, 1.0f, y + yo, N);
        }
    }
}

void lora_bwd_team(float* dx, float* da, float* db, const float* dy, const float* x, const float* t, const float* w,
                   const float* a, const float* b, int M, int K, int N, int r, float scale, float dropout,
                   uint64_t seed, float* ws, int threads) {
    const Dropout drop(seed, dropout);
    float* dt = ws;
    float* xd = ws + static_cast<int64_t>(M) * r;  // drop(x), then dt.A (dropout only)
    float* part = xd + (dropout > 0.0f ? static_cast<int64_t>(M) * K : 0);
    const int64_t per = grad_part_floats(K, N, r);
    const int64_t ndb = static_cast<int64_t>(N) * r;
#pragma omp parallel num_threads(threads)
    {
        const int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int m0, m1;
        thread_rows(M, m0, m1);
        const int rows = m1 - m0;
        float* pdb = part + id * per;
        float* pda = pdb + ndb;
        std::fill(pdb, pdb + per, 0.0f);
        if (rows > 0) {
            const int64_t xo = static_cast<int64_t>(m0) * K, x1 = static_cast<int64_t>(m1) * K;
            const float* xs = x;
            if (dropout > 0.0f) {
                apply_dropout_range(xd, x, xo, x1, drop);
                xs = xd;
            }
            // dt, and this thread's parts of dB and dA (from drop(x))
            lowrank_rows(dt, pdb, pda, dy, xs, t, b, m0, m1, K, N, r, scale);
            const float* dyr = dy + static_cast<int64_t>(m0) * N;
            const float* dtr = dt + static_cast<int64_t>(m0) * r;
            if (dx) {
                t4j::gemm(false, false, rows, K, N, 1.0f, dyr, N, w, K, 1.0f, dx + xo, K);
                if (dropout <= 0.0f) {
                    t4j::gemm(false, false, rows, K, r, 1.0f, dtr, r, a, K, 1.0f, dx + xo, K);
                } else {
                    // this thread's rows of drop(x) are used: they now hold dt.A, masked into dx
                    t4j::gemm(false, false, rows, K, r, 1.0f, dtr, r, a, K, 0.0f, xd + xo, K);
#pragma omp simd
                    for (int64_t e = xo; e < x1; e++) dx[e] += drop.keep(e) ? xd[e] * drop.inv_keep : 0.0f;
                }
            }
        }
#pragma omp barrier
        add_parts(da, db, part, per, ndb, id, nt);
    }
}
}  // namespace

void t4j_lora_fwd(float* y, float* t, const float* x, const float* w, const float* bias, const float* a,
                  const float* b, int M, int K, int N, int r, float scale, float dropout, uint64_t seed, float* ws) {
    if (M <= 0 || r <= 0) {
        t4j_linear_fwd(y, x, w, bias, M, K, N);
        return;
    }

    if (const int threads = team_threads(M, K, N)) {
        lora_fwd_team(y, t, x, w, bias, a, b, M, K, N, r, scale, dropout, seed, ws, threads);
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
    if (da && db && r > 0) {
        if (const int threads = team_threads(M, K, N)) {
            // W's own gradients (full fine-tuning under LoRA) are sums over rows: their own products
            if (dw || dbias) t4j_linear_bwd(nullptr, dw, dbias, dy, x, w, M, K, N);
            lora_bwd_team(dx, da, db, dy, x, t, w, a, b, M, K, N, r, scale, dropout, seed, ws, threads);
            return;
        }
    }
    // under bf16 products (and no dropout) dx's two terms wait for dt and go in as one joined product
    const bool join = dx && dropout <= 0.0f && M > 2 && N > 0 && K > 0 && r > 0 && t4j::bf16_matmul_active();
    // frozen (or full fine-tuning) base path: dx += dy.W, dW += dy^T.x, dbias += colsum(dy)
    t4j_linear_bwd(join ? nullptr : dx, dw, dbias, dy, x, w, M, K, N);
    if (M <= 0 || N <= 0 || r <= 0) return;
    float* dt = ws;
    // training's case: dt, dB and dA in one pass
    const bool fused = da && db && dropout <= 0.0f && K > 0;
    if (fused) {
        lowrank_grads(dt, da, db, dy, x, t, b, M, K, N, r, scale, ws + static_cast<int64_t>(M) * r);
    } else {
        // dB[N,r] += s . dy^T . t
        if (db) t4j::gemm(true, false, N, r, M, scale, dy, N, t, r, 1.0f, db, r);
        if ((!dx && !da) || K <= 0) return;
        // dt[M,r] = s . dy . B
        t4j::gemm(false, false, M, r, N, scale, dy, N, b, r, 0.0f, dt, r);
    }

    if (dropout <= 0.0f) {
        // dA[r,K] += dt^T . x ; dx[M,K] += dt . A
        if (da && !fused) t4j::gemm(true, false, r, K, M, 1.0f, dt, r, x, K, 1.0f, da, K);
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
