// Causal grouped-query attention with an optional prefix, flash style: forward keeps only the row
// log-sum-exp, backward recomputes the probabilities from it, so no [T,T] matrix is ever stored.
//
// Work is cut into tiles of RB query rows x KB keys. A row block holds QB consecutive queries times the
// G query heads that share one KV head, so each K/V block is loaded (and transposed) once for all of
// them. Scores are computed against a transposed K block, which makes the inner loop a contiguous
// axpy over KB keys: it vectorises for any head dim (6, 10, 64, 128) without horizontal reductions.
//
// Scores are scale * q.k (the queries are loaded pre-scaled); with a soft cap (Gemma 2) they become
// cap * tanh(s / cap) before the mask and softmax, and backward carries dS through 1 - tanh^2. The cap is
// tested once per row of a tile, so attention without one runs the same loops as before.
//
// Scratch: ws = [D: B*Tq*nh (backward only)] + one slot per possible thread (omp_get_num_procs()),
// sized in t4j_attention_ws_floats; the team is capped at that many threads.
#include "tune4j.h"
#include "vexp.h"
#include "vtanh.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

namespace {

constexpr int KB = 64;  // keys per tile
constexpr int RT = 64;  // target query rows per tile

inline int64_t r16(int64_t n) { return (n + 15) & ~int64_t{15}; }

struct Dims {
    int B, Tq, Tk, P, nh, nkv, hd, G, QB, RB;
    int window;          // sliding window over real keys (keys at distance >= window are hidden); 0: none
    int64_t qrow, krow;  // floats between consecutive positions of q/out and of k/v
    float scale;         // scores are scale * q.k
    float softcap;       // > 0: scores become softcap * tanh(s / softcap); 0: none
};

Dims make_dims(int B, int Tq, int Tk, int P, int nh, int nkv, int hd) {
    Dims d;
    d.B = B; d.Tq = Tq; d.Tk = Tk; d.P = P; d.nh = nh; d.nkv = nkv; d.hd = hd;
    d.window = 0;
    d.G = nkv > 0 ? nh / nkv : 1;
    d.QB = std::max(1, RT / std::max(1, d.G));
    d.QB = std::min(d.QB, std::max(1, Tq));
    d.RB = d.QB * d.G;
    d.qrow = static_cast<int64_t>(nh) * hd;
    d.krow = static_cast<int64_t>(nkv) * hd;
    d.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
    d.softcap = 0.0f;
    return d;
}

int64_t slot_floats(const Dims& d) {
    int64_t big = std::max(d.RB, KB);
    return 2 * r16(static_cast<int64_t>(d.RB) * d.hd)      // qs, dO
           + 2 * r16(static_cast<int64_t>(d.hd) * KB)      // kt, vt
           + 2 * r16(static_cast<int64_t>(d.RB) * KB)      // s, dp
           + 2 * r16(big * d.hd)                           // acc, acc2
           + 6 * r16(d.RB)                                 // m, l, lse, D, lo, hi
           + r16(static_cast<int64_t>(d.nh) * (d.P + d.Tk));   // decoding's scores, all heads
}

int64_t shared_floats(const Dims& d) { return r16(static_cast<int64_t>(d.B) * d.Tq * d.nh); }

int num_slots() { return std::max(1, omp_get_num_procs()); }

int team_size() { return std::max(1, std::min(omp_get_max_threads(), num_slots())); }

struct Slot {
    float *qs, *dO, *kt, *vt, *s, *dp, *acc, *acc2, *m, *l, *lse, *D, *dec;
    int *lo, *hi;
};

Slot make_slot(float* base, const Dims& d) {
    Slot sl;
    int64_t big = std::max(d.RB, KB);
    float* p = base;
    auto take = [&p](int64_t n) { float* r = p; p += r16(n); return r; };
    sl.qs = take(static_cast<int64_t>(d.RB) * d.hd);
    sl.dO = take(static_cast<int64_t>(d.RB) * d.hd);
    sl.kt = take(static_cast<int64_t>(d.hd) * KB);
    sl.vt = take(static_cast<int64_t>(d.hd) * KB);
    sl.s = take(static_cast<int64_t>(d.RB) * KB);
    sl.dp = take(static_cast<int64_t>(d.RB) * KB);
    sl.acc = take(big * d.hd);
    sl.acc2 = take(big * d.hd);
    sl.m = take(d.RB);
    sl.l = take(d.RB);
    sl.lse = take(d.RB);
    sl.D = take(d.RB);
    sl.lo = reinterpret_cast<int*>(take(d.RB));
    sl.hi = reinterpret_cast<int*>(take(d.RB));
    sl.dec = take(static_cast<int64_t>(d.nh) * (d.P + d.Tk));
    return sl;
}

// First real key a query at absolute position pos sees: its document's start (packing) or, with a
// sliding window, the oldest key still inside the window, whichever is later. The prefix stays visible.
inline int first_key(const Dims& d, int lo, int pos) {
    return d.window > 0 ? std::max(lo, pos - d.window + 1) : lo;
}

int check_args(const Dims& d, const float* pk, const float* pv, const int32_t* q_start, const int32_t* kv_start) {
    if (d.B <= 0 || d.Tq <= 0 || d.Tk <= 0 || d.P < 0 || d.nh <= 0 || d.nkv <= 0 || d.hd <= 0) return T4J_EINVAL;
    if (d.nh % d.nkv != 0 || d.window < 0) return T4J_EINVAL;
    if (!(d.scale > 0.0f) || std::isinf(d.scale) || !(d.softcap >= 0.0f) || std::isinf(d.softcap)) return T4J_EINVAL;
    if (d.P > 0 && (!pk || !pv)) return T4J_EINVAL;
    for (int b = 0; b < d.B; b++) {
        int qs = q_start ? q_start[b] : 0;
        if (qs < 0 || static_cast<int64_t>(qs) + d.Tq > d.Tk) return T4J_EINVAL;
        if (kv_start) {
            // every query must see at least itself, or its softmax would be empty when P == 0
            for (int i = 0; i < d.Tq; i++) {
                int lo = kv_start[static_cast<int64_t>(b) * d.Tq + i];
                if (lo < 0 || lo > qs + i) return T4J_EINVAL;
            }
        }
    }
    return T4J_OK;
}

// kt[x*KB + j] = src[j*stride + x] for j < n, zero for the padding columns n..KB-1.
// Rows of src are read whole: walking a column instead strides by nkv*hd floats (often exactly 4 KiB),
// which maps every row to the same L1 set and thrashes it.
inline void load_transposed(float* kt, const float* src, int64_t stride, int n, int hd) {
    for (int j = 0; j < n; j++) {
        const float* row = src + j * stride;
        for (int x = 0; x < hd; x++) kt[static_cast<int64_t>(x) * KB + j] = row[x];
    }
    if (n < KB) {
        for (int x = 0; x < hd; x++) std::fill(kt + static_cast<int64_t>(x) * KB + n, kt + (x + 1) * KB, 0.0f);
    }
}

// c[m][0..hd) += sum over k in [k0, k1] of A(m, k) * b[k][0..hd), A(m, k) = a[m*am + k*ak], for rows
// m in [0, M). The attention products that sum into rows (P.V, dS.K, P^T.dO, dS^T.Q) run through
// here: two rows and 32 columns of c stay in registers while k streams, so each loaded b row feeds
// two rows of FMAs (as a per-row axpy, every FMA also loaded and stored its row of c).
// Zero: c is written (=) instead of added to, and need not hold anything.
template <bool Zero = false>
inline void acc_rows(float* __restrict c, int64_t ldc, const float* __restrict a, int64_t am, int64_t ak,
                     const float* __restrict b, int64_t ldb, int M, int k0, int k1, int hd) {
    if (k1 < k0) {
        if (Zero)
            for (int m = 0; m < M; m++) std::fill(c + m * ldc, c + m * ldc + hd, 0.0f);
        return;
    }
    int m = 0;
    for (; m + 1 < M; m += 2) {
        float* c0 = c + m * ldc;
        float* c1 = c0 + ldc;
        const float* a0 = a + m * am;
        const float* a1 = a0 + am;
        int x = 0;
        for (; x + 32 <= hd; x += 32) {
            const auto ld = [](const float* p) { return Zero ? _mm256_setzero_ps() : _mm256_loadu_ps(p); };
            __m256 u0 = ld(c0 + x), u1 = ld(c0 + x + 8), u2 = ld(c0 + x + 16), u3 = ld(c0 + x + 24);
            __m256 w0 = ld(c1 + x), w1 = ld(c1 + x + 8), w2 = ld(c1 + x + 16), w3 = ld(c1 + x + 24);
            for (int k = k0; k <= k1; k++) {
                const float* bk = b + k * ldb + x;
                const __m256 p0 = _mm256_broadcast_ss(a0 + k * ak), p1 = _mm256_broadcast_ss(a1 + k * ak);
                const __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8);
                const __m256 b2 = _mm256_loadu_ps(bk + 16), b3 = _mm256_loadu_ps(bk + 24);
                u0 = _mm256_fmadd_ps(p0, b0, u0);
                u1 = _mm256_fmadd_ps(p0, b1, u1);
                u2 = _mm256_fmadd_ps(p0, b2, u2);
                u3 = _mm256_fmadd_ps(p0, b3, u3);
                w0 = _mm256_fmadd_ps(p1, b0, w0);
                w1 = _mm256_fmadd_ps(p1, b1, w1);
                w2 = _mm256_fmadd_ps(p1, b2, w2);
                w3 = _mm256_fmadd_ps(p1, b3, w3);
            }
            _mm256_storeu_ps(c0 + x, u0);
            _mm256_storeu_ps(c0 + x + 8, u1);
            _mm256_storeu_ps(c0 + x + 16, u2);
            _mm256_storeu_ps(c0 + x + 24, u3);
            _mm256_storeu_ps(c1 + x, w0);
            _mm256_storeu_ps(c1 + x + 8, w1);
            _mm256_storeu_ps(c1 + x + 16, w2);
            _mm256_storeu_ps(c1 + x + 24, w3);
        }
        for (; x + 8 <= hd; x += 8) {
            __m256 u = Zero ? _mm256_setzero_ps() : _mm256_loadu_ps(c0 + x);
            __m256 w = Zero ? _mm256_setzero_ps() : _mm256_loadu_ps(c1 + x);
            for (int k = k0; k <= k1; k++) {
                const __m256 bk = _mm256_loadu_ps(b + k * ldb + x);
                u = _mm256_fmadd_ps(_mm256_broadcast_ss(a0 + k * ak), bk, u);
                w = _mm256_fmadd_ps(_mm256_broadcast_ss(a1 + k * ak), bk, w);
            }
            _mm256_storeu_ps(c0 + x, u);
            _mm256_storeu_ps(c1 + x, w);
        }
        for (; x < hd; x++) {
            float u = Zero ? 0.0f : c0[x], w = Zero ? 0.0f : c1[x];
            for (int k = k0; k <= k1; k++) {
                u += a0[k * ak] * b[k * ldb + x];
                w += a1[k * ak] * b[k * ldb + x];
            }
            c0[x] = u;
            c1[x] = w;
        }
    }
    for (; m < M; m++) {
        float* c0 = c + m * ldc;
        const float* a0 = a + m * am;
        if (Zero) std::fill(c0, c0 + hd, 0.0f);
        for (int k = k0; k <= k1; k++) {
            const float p = a0[k * ak];
            const float* bk = b + k * ldb;
#pragma omp simd
            for (int x = 0; x < hd; x++) c0[x] += p * bk[x];
        }
    }
}


// s[r][0..KB) = a[r] . bt[:, 0..KB)  (a [R,hd] row-major, bt [hd,KB])
inline void tile_scores(float* __restrict s, const float* __restrict a, const float* __restrict bt, int R, int hd) {
    acc_rows<true>(s, KB, a, hd, 1, bt, KB, R, 0, hd - 1, KB);
}

// a . b over n floats. Spelled out: GCC leaves `omp simd reduction(+)` over a short runtime length
// scalar here, and these dot products are most of a decoding step's attention.
inline float dot(const float* __restrict a, const float* __restrict b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int x = 0;
    for (; x + 16 <= n; x += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + x), _mm256_loadu_ps(b + x), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + x + 8), _mm256_loadu_ps(b + x + 8), s1);
    }
    if (x + 8 <= n) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + x), _mm256_loadu_ps(b + x), s0);
        x += 8;
    }
    __m256 t = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float acc = _mm_cvtss_f32(h);
    for (; x < n; x++) acc += a[x] * b[x];
    return acc;
}

// The same scores straight from the key rows (b [n, stride]), one dot product per (row, key). For a few
// rows, as in decoding, this beats transposing the tile, whose cost does not shrink with R.
inline void tile_scores_direct(float* __restrict s, const float* __restrict a, const float* __restrict b,
                               int64_t stride, int R, int n, int hd) {
    for (int j = 0; j < n; j++) {
        const float* bj = b + j * stride;
        for (int r = 0; r < R; r++) {
            s[static_cast<int64_t>(r) * KB + j] = dot(a + static_cast<int64_t>(r) * hd, bj, hd);
        }
    }
}

constexpr int DIRECT_ROWS = 8;  // at most this many rows per tile: direct dot products

// Valid key columns [a, e] of row r in a tile starting at key j0 (prefix tiles: all n columns).
inline void row_range(const Slot& sl, int r, bool prefix, int j0, int n, int& a, int& e) {
    if (prefix) {
        a = 0;
        e = n - 1;
    } else {
        a = std::max(sl.lo[r] - j0, 0);
        e = std::min(sl.hi[r] - j0, n - 1);
    }
}

// Union [lo, hi] of the visible key columns of rows r..r+rows-1 (empty: lo > hi).
inline void keys_seen(const Slot& sl, int r, int rows, bool prefix, int j0, int n, int& lo, int& hi) {
    lo = n;
    hi = -1;
    for (int i = r; i < r + rows; i++) {
        int a, e;
        row_range(sl, i, prefix, j0, n, a, e);
        if (a <= e) {
            lo = std::min(lo, a);
            hi = std::max(hi, e);
        }
    }
}

// First and last of the R rows that see any key of the tile (none: rlo > rhi).
inline void rows_seeing(const Slot& sl, int R, bool prefix, int j0, int n, int& rlo, int& rhi) {
    rlo = R;
    rhi = -1;
    for (int r = 0; r < R; r++) {
        int a, e;
        row_range(sl, r, prefix, j0, n, a, e);
        if (a <= e) {
            rlo = std::min(rlo, r);
            rhi = r;
        }
    }
}

// Loads a row block: queries i0..i0+nq-1 of sequence b, the G heads of KV head kvh.
// Queries are pre-scaled by the softmax scale so scores need no extra multiply.
void load_rows(const Slot& sl, const Dims& d, const float* q, const int32_t* q_start, const int32_t* kv_start, int b,
               int kvh, int i0, int nq, int& jmin, int& jmax) {
    const int qs = q_start ? q_start[b] : 0;
    const int64_t gw = static_cast<int64_t>(d.G) * d.hd;
    jmin = INT_MAX;
    jmax = -1;
    for (int iq = 0; iq < nq; iq++) {
        int i = i0 + iq;
        const float* src = q + (static_cast<int64_t>(b) * d.Tq + i) * d.qrow + static_cast<int64_t>(kvh) * gw;
        float* dst = sl.qs + iq * gw;
#pragma omp simd
        for (int64_t x = 0; x < gw; x++) dst[x] = src[x] * d.scale;
        int hi = qs + i;
        int lo = first_key(d, kv_start ? kv_start[static_cast<int64_t>(b) * d.Tq + i] : 0, hi);
        jmin = std::min(jmin, lo);
        jmax = std::max(jmax, hi);
        for (int g = 0; g < d.G; g++) {
            sl.lo[iq * d.G + g] = lo;
            sl.hi[iq * d.G + g] = hi;
        }
    }
}

// Forward over one K/V tile: online softmax update of the row block's running max m, sum l and
// unnormalised output acc.
void fwd_tile(const Slot& sl, const Dims& d, int R, const float* kb, const float* vb, bool prefix, int j0, int n) {
    const int hd = d.hd;
    if (R <= DIRECT_ROWS) {
        tile_scores_direct(sl.s, sl.qs, kb, d.krow, R, n, hd);
    } else {
        load_transposed(sl.kt, kb, d.krow, n, hd);
        tile_scores(sl.s, sl.qs, sl.kt, R, hd);
    }
    for (int r = 0; r < R; r++) {
        int a, e;
        row_range(sl, r, prefix, j0, n, a, e);
        float* sr = sl.s + static_cast<int64_t>(r) * KB;
        if (a > e) {
            std::fill(sr, sr + n, 0.0f);
            continue;
        }
        // outside [a, e] the weights are zero, so row pairs below can share one range of keys
        std::fill(sr, sr + a, 0.0f);
        std::fill(sr + e + 1, sr + n, 0.0f);
        if (d.softcap > 0.0f) t4j_vtanh_scale(sr + a, sr + a, e - a + 1, 1.0f / d.softcap, d.softcap);
        float bm = -INFINITY;
#pragma omp simd reduction(max : bm)
        for (int j = a; j <= e; j++) bm = std::max(bm, sr[j]);
        float m_old = sl.m[r];
        float m_new = std::max(m_old, bm);
        float alpha = m_old == -INFINITY ? 0.0f : std::exp(m_old - m_new);
        // sr[a..e] becomes exp(s - m_new): the unnormalised probabilities that weight V below
        float sum = static_cast<float>(t4j_vexp_sum(sr + a, sr + a, e - a + 1, m_new, 1.0f, 1.0f));
        sl.l[r] = sl.l[r] * alpha + sum;
        sl.m[r] = m_new;
        float* o = sl.acc + static_cast<int64_t>(r) * hd;
        if (alpha != 1.0f) {
#pragma omp simd
            for (int x = 0; x < hd; x++) o[x] *= alpha;
        }
    }
    // acc += P . V, two rows at a time over the keys either row sees
    for (int r = 0; r < R; r += 2) {
        const int rows = std::min(2, R - r);
        int lo, hi;
        keys_seen(sl, r, rows, prefix, j0, n, lo, hi);
        acc_rows(sl.acc + static_cast<int64_t>(r) * hd, hd, sl.s + static_cast<int64_t>(r) * KB, KB, 1, vb, d.krow,
                 rows, lo, hi, hd);
    }
}

// Soft-capped scores in backward, over n keys of one row: with th = tanh(s / cap) the capped score is
// cap * th (the same float forward formed), p = exp(cap * th - lse), and dS = p (dP - D) (1 - th^2) is the
// gradient with respect to the raw score s.
inline void capped_probs(float* __restrict s, float* __restrict dp, int n, float cap, float lse, float D) {
    const float inv = 1.0f / cap;
    int j = 0;
#if defined(__AVX2__) && defined(__FMA__)
    const __m256 vi = _mm256_set1_ps(inv), vc = _mm256_set1_ps(cap), vl = _mm256_set1_ps(lse);
    const __m256 vD = _mm256_set1_ps(D), one = _mm256_set1_ps(1.0f);
    for (; j + 8 <= n; j += 8) {
        const __m256 th = t4j_vtanh8(_mm256_mul_ps(_mm256_loadu_ps(s + j), vi));
        const __m256 p = t4j_vexp8(_mm256_sub_ps(_mm256_mul_ps(vc, th), vl));
        const __m256 dth = _mm256_mul_ps(_mm256_sub_ps(one, th), _mm256_add_ps(one, th));
        _mm256_storeu_ps(s + j, p);
        _mm256_storeu_ps(dp + j, _mm256_mul_ps(_mm256_mul_ps(p, _mm256_sub_ps(_mm256_loadu_ps(dp + j), vD)), dth));
    }
#endif
    for (; j < n; j++) {
        const float th = t4j_vtanh(s[j] * inv);
        const float p = t4j_vexp(cap * th - lse);
        s[j] = p;
        dp[j] = p * (dp[j] - D) * ((1.0f - th) * (1.0f + th));
    }
}

// Backward over one tile: s becomes P = exp(S - lse) and dp becomes dS = P * (dP - D), both zero outside
// each row's visible keys. Needs qs, dO, lse, D of the row block and kt/vt of the tile.
void bwd_tile_probs(const Slot& sl, const Dims& d, int R, bool prefix, int j0, int n) {
    tile_scores(sl.s, sl.qs, sl.kt, R, d.hd);
    tile_scores(sl.dp, sl.dO, sl.vt, R, d.hd);
    for (int r = 0; r < R; r++) {
        int a, e;
        row_range(sl, r, prefix, j0, n, a, e);
        float* sr = sl.s + static_cast<int64_t>(r) * KB;
        float* dr = sl.dp + static_cast<int64_t>(r) * KB;
        if (a > e) {
            std::memset(sr, 0, sizeof(float) * KB);
            std::memset(dr, 0, sizeof(float) * KB);
            continue;
        }
        // outside [a, e] both are zero: masked scores and dP (other documents, padding) may hold anything
        std::fill(sr, sr + a, 0.0f);
        std::fill(dr, dr + a, 0.0f);
        std::fill(sr + e + 1, sr + KB, 0.0f);
        std::fill(dr + e + 1, dr + KB, 0.0f);
        const float Dr = sl.D[r];
        if (d.softcap > 0.0f) {
            capped_probs(sr + a, dr + a, e - a + 1, d.softcap, sl.lse[r], Dr);
            continue;
        }
        t4j_vexp_sum(sr + a, sr + a, e - a + 1, sl.lse[r], 1.0f, 1.0f);
#pragma omp simd
        for (int j = a; j <= e; j++) dr[j] = sr[j] * (dr[j] - Dr);
    }
}

// Backward row-block loads: dout rows, lse, D (and the scaled queries via load_rows).
void load_bwd_rows(const Slot& sl, const Dims& d, const float* dout, const float* lse, const float* Dall, int b,
                   int kvh, int i0, int nq) {
    const int64_t gw = static_cast<int64_t>(d.G) * d.hd;
    for (int iq = 0; iq < nq; iq++) {
        int64_t qi = static_cast<int64_t>(b) * d.Tq + i0 + iq;
        std::memcpy(sl.dO + iq * gw, dout + qi * d.qrow + kvh * gw, gw * sizeof(float));
        for (int g = 0; g < d.G; g++) {
            int64_t li = qi * d.nh + static_cast<int64_t>(kvh) * d.G + g;
            sl.lse[iq * d.G + g] = lse[li];
            sl.D[iq * d.G + g] = Dall[li];
        }
    }
}

// Up to this many queries per sequence the forward takes the decoding path below.
constexpr int DECODE_QUERIES = 2;

// One query (all nh heads) of sequence b, for decoding: the KV cache rows it sees are read once each,
// front to back, whole (every KV head at once). The tiled path instead walks them once per KV head,
// 3 cache lines of every 18 at a time for a 6x48 row, and when the cache is not in L2 (a batch of
// sequences, each behind a vocabulary-sized LM head) that access pattern costs twice the streaming.
void fwd_decode(float* out, float* lse, const float* q, const float* k, const float* v, const float* pk,
                const float* pv, const int32_t* q_start, const int32_t* kv_start, const Dims& d, int b, int i,
                float* sc) {
    const int hd = d.hd, nh = d.nh, G = d.G;
    const int64_t qi = static_cast<int64_t>(b) * d.Tq + i;
    const int pos = (q_start ? q_start[b] : 0) + i;
    const int lo = first_key(d, kv_start ? kv_start[qi] : 0, pos);
    const int n = d.P + (pos - lo + 1);  // keys: the prefix, then cache rows lo..pos
    const float* qr = q + qi * d.qrow;
    auto key = [&](int j) {
        return j < d.P ? pk + static_cast<int64_t>(j) * d.krow : k + (static_cast<int64_t>(b) * d.Tk + lo + j - d.P) * d.krow;
    };
    auto val = [&](int j) {
        return j < d.P ? pv + static_cast<int64_t>(j) * d.krow : v + (static_cast<int64_t>(b) * d.Tk + lo + j - d.P) * d.krow;
    };
    for (int j = 0; j < n; j++) {
        const float* kr = key(j);
        for (int kvh = 0, h = 0; kvh < d.nkv; kvh++) {
            const float* kh = kr + static_cast<int64_t>(kvh) * hd;
            for (int g = 0; g < G; g++, h++) {
                sc[static_cast<int64_t>(h) * n + j] = dot(qr + static_cast<int64_t>(h) * hd, kh, hd) * d.scale;
            }
        }
    }
    float* o = out + qi * d.qrow;
    for (int h = 0; h < nh; h++) {
        float* sh = sc + static_cast<int64_t>(h) * n;
        if (d.softcap > 0.0f) t4j_vtanh_scale(sh, sh, n, 1.0f / d.softcap, d.softcap);
        float m = -INFINITY;
#pragma omp simd reduction(max : m)
        for (int j = 0; j < n; j++) m = std::max(m, sh[j]);
        // sh becomes the probabilities: exp(s - m) / sum
        const float sum = static_cast<float>(t4j_vexp_sum(sh, sh, n, m, 1.0f, 1.0f));
        const float inv = 1.0f / sum;
#pragma omp simd
        for (int j = 0; j < n; j++) sh[j] *= inv;
        if (lse) lse[qi * nh + h] = m + std::log(sum);
    }
    std::memset(o, 0, sizeof(float) * nh * hd);
    for (int j = 0; j < n; j++) {
        const float* vr = val(j);
        for (int kvh = 0, h = 0; kvh < d.nkv; kvh++) {
            const float* vh = vr + static_cast<int64_t>(kvh) * hd;
            for (int g = 0; g < G; g++, h++) {
                const float p = sc[static_cast<int64_t>(h) * n + j];
                float* oh = o + static_cast<int64_t>(h) * hd;
#pragma omp simd
                for (int x = 0; x < hd; x++) oh[x] += p * vh[x];
            }
        }
    }
}

}  // namespace

int64_t t4j_attention_ws_floats(int B, int Tq, int Tk, int P, int nh, int nkv, int hd) {
    Dims d = make_dims(B, Tq, Tk, P, nh, nkv, hd);
    return shared_floats(d) + static_cast<int64_t>(num_slots()) * slot_floats(d);
}

int t4j_attention_fwd(float* out, float* lse, const float* q, const float* k, const float* v, const float* pk,
                      const float* pv, const int32_t* q_start, const int32_t* kv_start, int B, int Tq, int Tk, int P,
                      int nh, int nkv, int hd, int window, float scale, float softcap, float* ws) {
    Dims d = make_dims(B, Tq, Tk, P, nh, nkv, hd);
    d.window = window;
    d.scale = scale;
    d.softcap = softcap;
    int rc = check_args(d, pk, pv, q_start, kv_start);
    if (rc != T4J_OK) return rc;
    float* slots = ws + shared_floats(d);
    const int64_t sf = slot_floats(d);
    if (Tq <= DECODE_QUERIES) {
        int64_t keys = 0;
        for (int b = 0; b < B; b++) keys += (q_start ? q_start[b] : 0) + Tq;
        const int64_t work = 4 * static_cast<int64_t>(Tq) * nh * hd * (static_cast<int64_t>(B) * P + keys);
        const int64_t queries = static_cast<int64_t>(B) * Tq;
#pragma omp parallel num_threads(team_size()) if (queries > 1 && work > 262144)
        {
            float* sc = make_slot(slots + omp_get_thread_num() * sf, d).dec;
#pragma omp for schedule(dynamic, 1)
            for (int64_t t = 0; t < queries; t++) {
                fwd_decode(out, lse, q, k, v, pk, pv, q_start, kv_start, d, static_cast<int>(t / Tq),
                           static_cast<int>(t % Tq), sc);
            }
        }
        return T4J_OK;
    }
    const int nqb = (Tq + d.QB - 1) / d.QB;
    const int64_t tasks = static_cast<int64_t>(B) * nkv * nqb;
    // score and value work, keys bounded by the last query's position: a decoding query over a short
    // context is done before a woken thread would start
    int64_t keys = 0;
    for (int b = 0; b < B; b++) keys = std::max<int64_t>(keys, (q_start ? q_start[b] : 0) + Tq);
    const int64_t work = 2 * static_cast<int64_t>(B) * Tq * nh * hd * (P + keys);
#pragma omp parallel num_threads(team_size()) if (tasks > 1 && work > 262144)
    {
        Slot sl = make_slot(slots + omp_get_thread_num() * sf, d);
        // causal tiles grow with the query index: dynamic scheduling keeps the threads even
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < tasks; t++) {
            int qb = static_cast<int>(t % nqb);
            int kvh = static_cast<int>((t / nqb) % nkv);
            int b = static_cast<int>(t / (static_cast<int64_t>(nqb) * nkv));
            int i0 = qb * d.QB, nq = std::min(d.QB, Tq - i0), R = nq * d.G;
            int jmin, jmax;
            load_rows(sl, d, q, q_start, kv_start, b, kvh, i0, nq, jmin, jmax);
            for (int r = 0; r < R; r++) {
                sl.m[r] = -INFINITY;
                sl.l[r] = 0.0f;
            }
            std::memset(sl.acc, 0, sizeof(float) * R * hd);
            for (int j0 = 0; j0 < P; j0 += KB) {
                int64_t off = static_cast<int64_t>(j0) * d.krow + static_cast<int64_t>(kvh) * hd;
                fwd_tile(sl, d, R, pk + off, pv + off, true, j0, std::min(KB, P - j0));
            }
            for (int j0 = jmin; j0 <= jmax; j0 += KB) {
                int64_t off = (static_cast<int64_t>(b) * Tk + j0) * d.krow + static_cast<int64_t>(kvh) * hd;
                fwd_tile(sl, d, R, k + off, v + off, false, j0, std::min(KB, jmax + 1 - j0));
            }
            for (int r = 0; r < R; r++) {
                int iq = r / d.G, g = r % d.G;
                int64_t qi = static_cast<int64_t>(b) * Tq + i0 + iq;
                int h = kvh * d.G + g;
                float inv = 1.0f / sl.l[r];
                float* o = out + qi * d.qrow + static_cast<int64_t>(h) * hd;
                const float* a = sl.acc + static_cast<int64_t>(r) * hd;
#pragma omp simd
                for (int x = 0; x < hd; x++) o[x] = a[x] * inv;
                if (lse) lse[qi * nh + h] = sl.m[r] + std::log(sl.l[r]);
            }
        }
    }
    return T4J_OK;
}

// Two passes so that every gradient element has exactly one writer (no atomics, no per-thread copies of
// dk/dv): pass 1 owns a K/V tile and walks the queries that see it (dk, dv, dpk, dpv); pass 2 owns a
// query block and walks its keys (dq). Scores are recomputed in each pass from q, k and lse.
int t4j_attention_bwd(float* dq, float* dk, float* dv, float* dpk, float* dpv, const float* dout, const float* out,
                      const float* lse, const float* q, const float* k, const float* v, const float* pk,
                      const float* pv, const int32_t* q_start, const int32_t* kv_start, int B, int Tq, int Tk, int P,
                      int nh, int nkv, int hd, int window, float scale, float softcap, float* ws) {
    Dims d = make_dims(B, Tq, Tk, P, nh, nkv, hd);
    d.window = window;
    d.scale = scale;
    d.softcap = softcap;
    int rc = check_args(d, pk, pv, q_start, kv_start);
    if (rc != T4J_OK) return rc;
    const bool want_kv = dk || dv;
    const bool want_pkv = P > 0 && (dpk || dpv);
    if (!dq && !want_kv && !want_pkv) return T4J_OK;
    float* Dall = ws;
    float* slots = ws + shared_floats(d);
    const int64_t sf = slot_floats(d);
    const int nqb = (Tq + d.QB - 1) / d.QB;
    const int nkb = (Tk + KB - 1) / KB;
    const int npb = (P + KB - 1) / KB;
    const int64_t gw = static_cast<int64_t>(d.G) * hd;
    const int64_t rows = static_cast<int64_t>(B) * Tq * nh;

    // Without a prefix, the rows of dq, dk and dv of one (sequence, KV head) have no other writer: one
    // task each can then walk its query blocks and their key tiles once, computing P and dS once for
    // all three gradients (the two passes below compute them twice). It needs enough such tasks to
    // keep the team busy.
    const int team = team_size();
    const bool one_pass = P == 0 && static_cast<int64_t>(B) * nkv >= 2 * team;

#pragma omp parallel num_threads(team)
    {
        Slot sl = make_slot(slots + omp_get_thread_num() * sf, d);

        // D_i = dout_i . out_i  (the softmax-backward row term)
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float* a = dout + r * hd;
            const float* o = out + r * hd;
            double s = 0.0;
#pragma omp simd reduction(+ : s)
            for (int x = 0; x < hd; x++) s += static_cast<double>(a[x]) * o[x];
            Dall[r] = static_cast<float>(s);
        }

        // ---- one pass: one task per (sequence, KV head) ----
        const int64_t stasks = one_pass ? static_cast<int64_t>(B) * nkv : 0;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < stasks; t++) {
            const int b = static_cast<int>(t / nkv), kvh = static_cast<int>(t % nkv);
            for (int i0 = 0; i0 < Tq; i0 += d.QB) {
                const int nq = std::min(d.QB, Tq - i0), R = nq * d.G;
                int jmin, jmax;
                load_rows(sl, d, q, q_start, kv_start, b, kvh, i0, nq, jmin, jmax);
                load_bwd_rows(sl, d, dout, lse, Dall, b, kvh, i0, nq);
                float* dQ = sl.acc;
                if (dq) std::memset(dQ, 0, sizeof(float) * R * hd);
                for (int j0 = jmin; j0 <= jmax; j0 += KB) {
                    const int n = std::min(KB, jmax + 1 - j0);
                    const int64_t off = (static_cast<int64_t>(b) * Tk + j0) * d.krow + static_cast<int64_t>(kvh) * hd;
                    load_transposed(sl.kt, k + off, d.krow, n, hd);
                    load_transposed(sl.vt, v + off, d.krow, n, hd);
                    bwd_tile_probs(sl, d, R, false, j0, n);
                    int rlo, rhi;
                    rows_seeing(sl, R, false, j0, n, rlo, rhi);
                    // dv += P^T . dO, dk += dS^T . q (q carries the scale), dQ += dS . K
                    if (dv) acc_rows(dv + off, d.krow, sl.s, 1, KB, sl.dO, hd, n, rlo, rhi, hd);
                    if (dk) acc_rows(dk + off, d.krow, sl.dp, 1, KB, sl.qs, hd, n, rlo, rhi, hd);
                    if (!dq) continue;
                    for (int r = 0; r < R; r += 2) {
                        const int pair = std::min(2, R - r);
                        int lo, hi;
                        keys_seen(sl, r, pair, false, j0, n, lo, hi);
                        acc_rows(dQ + static_cast<int64_t>(r) * hd, hd, sl.dp + static_cast<int64_t>(r) * KB, KB, 1,
                                 k + off, d.krow, pair, lo, hi, hd);
                    }
                }
                if (!dq) continue;
                for (int iq = 0; iq < nq; iq++) {
                    float* dst = dq + (static_cast<int64_t>(b) * Tq + i0 + iq) * d.qrow + kvh * gw;
                    const float* src = dQ + iq * gw;
#pragma omp simd
                    for (int64_t x = 0; x < gw; x++) dst[x] += d.scale * src[x];
                }
            }
        }

        // ---- pass 1: one task per K/V tile (prefix tiles first, shared by all sequences) ----
        const int64_t ptasks = !one_pass && want_pkv ? static_cast<int64_t>(nkv) * npb : 0;
        const int64_t ctasks = !one_pass && want_kv ? static_cast<int64_t>(B) * nkv * nkb : 0;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ptasks + ctasks; t++) {
            bool prefix = t < ptasks;
            int b0, b1, kvh, j0, n;
            const float *kb, *vb;
            if (prefix) {
                kvh = static_cast<int>(t / npb);
                j0 = static_cast<int>(t % npb) * KB;
                n = std::min(KB, P - j0);
                b0 = 0;
                b1 = B;
                int64_t off = static_cast<int64_t>(j0) * d.krow + static_cast<int64_t>(kvh) * hd;
                kb = pk + off;
                vb = pv + off;
            } else {
                int64_t u = t - ptasks;
                j0 = static_cast<int>(u % nkb) * KB;
                kvh = static_cast<int>((u / nkb) % nkv);
                b0 = static_cast<int>(u / (static_cast<int64_t>(nkb) * nkv));
                b1 = b0 + 1;
                int used = (q_start ? q_start[b0] : 0) + Tq;  // keys past the last query are never seen
                if (j0 >= used) continue;
                n = std::min(KB, used - j0);
                int64_t off = (static_cast<int64_t>(b0) * Tk + j0) * d.krow + static_cast<int64_t>(kvh) * hd;
                kb = k + off;
                vb = v + off;
            }
            load_transposed(sl.kt, kb, d.krow, n, hd);
            load_transposed(sl.vt, vb, d.krow, n, hd);
            float* dK = sl.acc;
            float* dV = sl.acc2;
            std::memset(dK, 0, sizeof(float) * n * hd);
            std::memset(dV, 0, sizeof(float) * n * hd);
            for (int b = b0; b < b1; b++) {
                int qs = q_start ? q_start[b] : 0;
                int ifirst = prefix ? 0 : std::max(0, j0 - qs);  // earlier queries sit before the tile
                for (int i0 = ifirst; i0 < Tq; i0 += d.QB) {
                    int nq = std::min(d.QB, Tq - i0), R = nq * d.G;
                    int jmin, jmax;
                    load_rows(sl, d, q, q_start, kv_start, b, kvh, i0, nq, jmin, jmax);
                    if (!prefix && jmin > j0 + n - 1) continue;  // every row starts after this tile
                    load_bwd_rows(sl, d, dout, lse, Dall, b, kvh, i0, nq);
                    bwd_tile_probs(sl, d, R, prefix, j0, n);
                    // dV += P^T . dO and dK += dS^T . q over the block's rows (P and dS are zero where a
                    // row does not see a key; q already carries the scale)
                    int rlo, rhi;
                    rows_seeing(sl, R, prefix, j0, n, rlo, rhi);
                    acc_rows(dV, hd, sl.s, 1, KB, sl.dO, hd, n, rlo, rhi, hd);
                    acc_rows(dK, hd, sl.dp, 1, KB, sl.qs, hd, n, rlo, rhi, hd);
                }
            }
            float* gk = prefix ? dpk : dk;
            float* gv = prefix ? dpv : dv;
            int64_t off = prefix ? static_cast<int64_t>(j0) * d.krow + static_cast<int64_t>(kvh) * hd
                                 : (static_cast<int64_t>(b0) * Tk + j0) * d.krow + static_cast<int64_t>(kvh) * hd;
            for (int j = 0; j < n; j++) {
                if (gk) {
                    float* dst = gk + off + j * d.krow;
                    const float* src = dK + static_cast<int64_t>(j) * hd;
#pragma omp simd
                    for (int x = 0; x < hd; x++) dst[x] += src[x];
                }
                if (gv) {
                    float* dst = gv + off + j * d.krow;
                    const float* src = dV + static_cast<int64_t>(j) * hd;
#pragma omp simd
                    for (int x = 0; x < hd; x++) dst[x] += src[x];
                }
            }
        }

        // ---- pass 2: one task per query block, dq ----
        const int64_t qtasks = !one_pass && dq ? static_cast<int64_t>(B) * nkv * nqb : 0;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < qtasks; t++) {
            int qb = static_cast<int>(t % nqb);
            int kvh = static_cast<int>((t / nqb) % nkv);
            int b = static_cast<int>(t / (static_cast<int64_t>(nqb) * nkv));
            int i0 = qb * d.QB, nq = std::min(d.QB, Tq - i0), R = nq * d.G;
            int jmin, jmax;
            load_rows(sl, d, q, q_start, kv_start, b, kvh, i0, nq, jmin, jmax);
            load_bwd_rows(sl, d, dout, lse, Dall, b, kvh, i0, nq);
            float* dQ = sl.acc;
            std::memset(dQ, 0, sizeof(float) * R * hd);
            auto tile = [&](const float* kb, const float* vb, bool prefix, int j0, int n) {
                load_transposed(sl.kt, kb, d.krow, n, hd);
                load_transposed(sl.vt, vb, d.krow, n, hd);
                bwd_tile_probs(sl, d, R, prefix, j0, n);
                // dQ += dS . K, two rows at a time over the keys either row sees
                for (int r = 0; r < R; r += 2) {
                    const int rows = std::min(2, R - r);
                    int lo, hi;
                    keys_seen(sl, r, rows, prefix, j0, n, lo, hi);
                    acc_rows(dQ + static_cast<int64_t>(r) * hd, hd, sl.dp + static_cast<int64_t>(r) * KB, KB, 1, kb,
                             d.krow, rows, lo, hi, hd);
                }
            };
            for (int j0 = 0; j0 < P; j0 += KB) {
                int64_t off = static_cast<int64_t>(j0) * d.krow + static_cast<int64_t>(kvh) * hd;
                tile(pk + off, pv + off, true, j0, std::min(KB, P - j0));
            }
            for (int j0 = jmin; j0 <= jmax; j0 += KB) {
                int64_t off = (static_cast<int64_t>(b) * Tk + j0) * d.krow + static_cast<int64_t>(kvh) * hd;
                tile(k + off, v + off, false, j0, std::min(KB, jmax + 1 - j0));
            }
            for (int iq = 0; iq < nq; iq++) {
                float* dst = dq + (static_cast<int64_t>(b) * Tq + i0 + iq) * d.qrow + kvh * gw;
                const float* src = dQ + iq * gw;
#pragma omp simd
                for (int64_t x = 0; x < gw; x++) dst[x] += d.scale * src[x];
            }
        }
    }
    return T4J_OK;
}

int t4j_kv_write(float* cache, const float* src, const int32_t* q_start, int B, int Tq, int Tmax, int width) {
    if (B < 0 || Tq < 0 || Tmax < 0 || width < 0) return T4J_EINVAL;
    for (int b = 0; b < B; b++) {
        int qs = q_start ? q_start[b] : 0;
        if (qs < 0 || static_cast<int64_t>(qs) + Tq > Tmax) return T4J_ERANGE;
    }
    // a sequence's new rows are contiguous in both buffers: one copy per sequence
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(B) * Tq * width > 65536)
    for (int b = 0; b < B; b++) {
        int qs = q_start ? q_start[b] : 0;
        std::memcpy(cache + (static_cast<int64_t>(b) * Tmax + qs) * width, src + static_cast<int64_t>(b) * Tq * width,
                    sizeof(float) * Tq * width);
    }
    return T4J_OK;
}
