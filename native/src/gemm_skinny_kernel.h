// The few-row product y[M,N] += x[M,K] . w[N,K]^T read straight from w's rows, written once over a
// vector-traits type V (AVX2 or AVX-512, see gemm_skinny*.cpp) and w's element type WT (fp32, or
// bf16 decoding weights widened in registers). Each output is a dot product of a row of x with a row
// of w: for a handful of rows this beats sgemm, which packs all of w on every call (80% of a 16-row
// decode step went to that copy) and shapes its blocks for large M.
//
// A block is MB rows of x by V::cols rows of w, MB x V::cols vector sums kept in registers over the
// whole of K; those rows of w stay in L1 while every row block of x passes over them, so w streams
// from memory once per call whatever M is.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace t4j {
namespace skinny {
namespace kernel {

// A vector of w as fp32: loaded as is, or bf16 (the top half of an fp32) zero-extended and shifted up 16
template <class V>
inline typename V::reg load_w(const float* p) { return V::load(p); }
template <class V>
inline typename V::reg load_w_first(const float* p, int n) { return V::load_first(p, n); }
template <class V>
inline typename V::reg load_w(const uint16_t* p) { return V::widen(p); }
template <class V>
inline typename V::reg load_w_first(const uint16_t* p, int n) {
    alignas(64) uint16_t t[V::width] = {};
    std::memcpy(t, p, sizeof(uint16_t) * n);
    return V::widen(t);
}

// Groups of w rows fetched ahead of the one being multiplied. Streaming a vocabulary-sized LM head
// from memory, a prefetch into L2 a few groups ahead took 16 rows from 6.9 to 5.8 ms (Zen 3, one core).
constexpr int kAhead = 4;

// pf: where a later group of w starts, fetched into cache while this one is multiplied (null: no prefetch)
template <class V, class WT, int MB, int NB>
inline void block(const float* x, int64_t ldx, const WT* w, int64_t ldw, float* y, int64_t ldy, int K,
                  const WT* pf) {
    constexpr int line = 64 / sizeof(WT);  // elements of w per cache line
    typename V::reg acc[MB][NB];
#pragma GCC unroll 8
    for (int i = 0; i < MB; i++) {
#pragma GCC unroll 4
        for (int j = 0; j < NB; j++) acc[i][j] = V::zero();
    }
    int k = 0;
    for (; k + V::width <= K; k += V::width) {
        if (pf && (k & (line - 1)) == 0) {
#pragma GCC unroll 4
            for (int j = 0; j < V::cols; j++) __builtin_prefetch(pf + j * ldw + k, 0, 2);  // to L2
        }
        typename V::reg wv[NB];
#pragma GCC unroll 4
        for (int j = 0; j < NB; j++) {
            wv[j] = load_w<V>(w + j * ldw + k);
            __asm__("" : "+v"(wv[j]));  // see below
        }
#pragma GCC unroll 8
        for (int i = 0; i < MB; i++) {
            typename V::reg xv = V::load(x + i * ldx + k);
            // x and w in registers: left to itself the compiler folds them into every FMA as memory
            // operands, and then the loads outnumber the FMAs and the load ports set the pace
            __asm__("" : "+v"(xv));
#pragma GCC unroll 4
            for (int j = 0; j < NB; j++) acc[i][j] = V::fma(xv, wv[j], acc[i][j]);
        }
    }
    if (k < K) {
        const int n = K - k;
        typename V::reg wv[NB];
#pragma GCC unroll 4
        for (int j = 0; j < NB; j++) wv[j] = load_w_first<V>(w + j * ldw + k, n);
#pragma GCC unroll 8
        for (int i = 0; i < MB; i++) {
            typename V::reg xv = V::load_first(x + i * ldx + k, n);
#pragma GCC unroll 4
            for (int j = 0; j < NB; j++) acc[i][j] = V::fma(xv, wv[j], acc[i][j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MB; i++) {
        float s[4];
        V::sum4(s, acc[i][0], NB > 1 ? acc[i][NB > 1 ? 1 : 0] : V::zero(), NB > 2 ? acc[i][NB > 2 ? 2 : 0] : V::zero(),
                NB > 3 ? acc[i][NB > 3 ? 3 : 0] : V::zero());
        float* yi = y + i * ldy;
#pragma GCC unroll 4
        for (int j = 0; j < NB; j++) yi[j] += s[j];
    }
}

template <class WT>
using BlockFn = void (*)(const float*, int64_t, const WT*, int64_t, float*, int64_t, int, const WT*);

template <class V, class WT, int MB>
inline BlockFn<WT> pick_nb(int nb) {
    switch (nb) {
        case 1: return block<V, WT, MB, 1>;
        case 2: return block<V, WT, MB, 2>;
        case 3: return block<V, WT, MB, std::min(3, V::cols)>;
        default: return block<V, WT, MB, V::cols>;
    }
}

template <class V, class WT>
inline BlockFn<WT> pick(int mb, int nb) {
    static_assert(V::max_rows <= 6, "row blocks up to 6");
    switch (mb) {
        case 1: return pick_nb<V, WT, 1>(nb);
        case 2: return pick_nb<V, WT, std::min(2, V::max_rows)>(nb);
        case 3: return pick_nb<V, WT, std::min(3, V::max_rows)>(nb);
        case 4: return pick_nb<V, WT, std::min(4, V::max_rows)>(nb);
        case 5: return pick_nb<V, WT, std::min(5, V::max_rows)>(nb);
        default: return pick_nb<V, WT, std::min(6, V::max_rows)>(nb);
    }
}

// Row blocks as even as V::max_rows allows (16 rows on AVX-512: 6, 5, 5), so no block runs short.
template <class V, class WT>
inline void gemm_nt(int M, int N, int K, const float* x, int ldx, const WT* w, int ldw, float* y, int ldy) {
    const int nblocks = (M + V::max_rows - 1) / V::max_rows;
    constexpr int C = V::cols;
    const int64_t groups = (N + C - 1) / C;
    const int64_t work = static_cast<int64_t>(M) * N * K;
    // a thread takes whole groups of w rows. A single decoding row is bound by how fast w streams in,
    // and two cores stream faster than one: split whenever w is a few hundred KiB (stories15M's
    // layers at one row: 6.6 -> 5.6 ms a token on 2 cores), tiny products stay on the calling thread
#pragma omp parallel for schedule(static) if (work > (int64_t{1} << 21) || static_cast<int64_t>(N) * K * sizeof(WT) >= 262144)
    for (int64_t g = 0; g < groups; g++) {
        const int n0 = static_cast<int>(g * C), nb = std::min(C, N - n0);
        const WT* wg = w + static_cast<int64_t>(n0) * ldw;
        int m0 = 0;
        for (int b = 0; b < nblocks; b++) {
            const int mb = (M - m0) / (nblocks - b);
            const WT* pf = b == 0 && g + kAhead < groups ? wg + C * kAhead * static_cast<int64_t>(ldw) : nullptr;
            pick<V, WT>(mb, nb)(x + static_cast<int64_t>(m0) * ldx, ldx, wg, ldw, y + static_cast<int64_t>(m0) * ldy + n0,
                            ldy, K, pf);
            m0 += mb;
        }
    }
}

}  // namespace kernel
}  // namespace skinny
}  // namespace t4j
