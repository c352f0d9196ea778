// bf16 matrix products on Intel AMX tiles (Sapphire Rapids and later), or with AVX512-BF16's
// VDPBF16PS on CPUs that have that but no tile unit (AMD Zen 4 and 5, Intel Cooper Lake). Compiled
// with the AMX and AVX512-BF16 flags and called only after gemm.cpp's run-time check.
//
// Both operands are first converted to bf16 tiles of 1 KiB: A as 16 rows x 32 k, B as 16 k-pairs
// x 16 columns (the pair layout TDPBF16PS reads). Each thread then owns 32x32 blocks of C held in
// four accumulator tiles; K is walked in chunks so that a chunk of both operands stays in L2, the
// partial sums parking in an fp32 buffer between chunks. A B tile's row is one zmm of 16 column
// pairs, so the vector path walks the same tiles: one VDPBF16PS per row of A and row of B.
#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <omp.h>

#include "gemm.h"
#include "tune4j.h"

namespace t4j::amx {
namespace {

constexpr int kTile = 512;      // bf16 elements per tile
constexpr int kChunkKb = 32;    // k-blocks (of 32) per chunk: 1024 k, two 64 KiB panels

struct alignas(64) TileConfig {
    uint8_t palette_id;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

void configure_tiles() {
    TileConfig cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.palette_id = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

inline __mmask16 first(int n) { return n >= 16 ? 0xFFFF : (n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1)); }

// 32 consecutive floats (n of them valid) as 16 dwords of bf16 pairs: element 2j in the low half.
inline __m512i pairs_contig(const float* p, int n) {
    __m512 lo = _mm512_maskz_loadu_ps(first(n), p);
    __m512 hi = _mm512_maskz_loadu_ps(first(n - 16), p + 16);
    return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
}

// Two rows of 16 floats (even and odd k; null = zeros) as 16 dwords: dword j = (even[j], odd[j]).
inline __m512i pairs_rows(const float* even, const float* odd, __mmask16 m) {
    __m512 e = even ? _mm512_maskz_loadu_ps(m, even) : _mm512_setzero_ps();
    __m512 o = odd ? _mm512_maskz_loadu_ps(m, odd) : _mm512_setzero_ps();
    __m512i eo = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(o, e));  // words 0-15 even, 16-31 odd
    alignas(64) static const uint16_t interleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                        8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    return _mm512_permutexvar_epi16(_mm512_load_si512(interleave), eo);
}

// In-register transpose of a 16x16 matrix of dwords.
inline void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    // u[4g + c] holds, in 128-bit lane L, rows 4g..4g+3 of column 4L + c
    for (int c = 0; c < 4; c++) {
        t[c] = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88);       // lanes 0,2 of u[c] and u[4+c]
        t[4 + c] = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xdd);   // lanes 1,3
        t[8 + c] = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xdd);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0x88);
        r[4 + c] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0x88);
        r[8 + c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0xdd);
        r[12 + c] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0xdd);
    }
}

// Tile (mt, kb) of op(A) [M,K]: 16 rows x 32 k.
void pack_a_tile(uint16_t* dst, bool trans_a, const float* A, int lda, int M, int K, int mt, int kb) {
    const int i0 = mt * 16, k0 = kb * 32;
    const int rows = std::min(16, M - i0), kn = std::min(32, K - k0);
    __m512i v[16];
    if (!trans_a) {
        for (int r = 0; r < 16; r++)
            v[r] = r < rows ? pairs_contig(A + static_cast<int64_t>(i0 + r) * lda + k0, kn) : _mm512_setzero_si512();
    } else {  // A is stored [K,M]: build k-pairs per row, then turn rows into tile rows
        const __mmask16 m = first(rows);
        for (int p = 0; p < 16; p++) {
            const int k = k0 + 2 * p;
            const float* even = k < K ? A + static_cast<int64_t>(k) * lda + i0 : nullptr;
            const float* odd = k + 1 < K ? A + static_cast<int64_t>(k + 1) * lda + i0 : nullptr;
            v[p] = pairs_rows(even, odd, m);
        }
        transpose16(v);
    }
    for (int r = 0; r < 16; r++) _mm512_store_si512(dst + r * 32, v[r]);
}

// Tile (nt, kb) of op(B) [K,N]: 16 k-pairs x 16 columns.
void pack_b_tile(uint16_t* dst, bool trans_b, const float* B, int ldb, int K, int N, int nt, int kb) {
    const int n0 = nt * 16, k0 = kb * 32;
    const int cols = std::min(16, N - n0), kn = std::min(32, K - k0);
    __m512i v[16];
    if (!trans_b) {
        const __mmask16 m = first(cols);
        for (int p = 0; p < 16; p++) {
            const int k = k0 + 2 * p;
            const float* even = k < K ? B + static_cast<int64_t>(k) * ldb + n0 : nullptr;
            const float* odd = k + 1 < K ? B + static_cast<int64_t>(k + 1) * ldb + n0 : nullptr;
            v[p] = pairs_rows(even, odd, m);
        }
    } else {  // B is stored [N,K]: each column's k run is contiguous
        for (int c = 0; c < 16; c++)
            v[c] = c < cols ? pairs_contig(B + static_cast<int64_t>(n0 + c) * ldb + k0, kn) : _mm512_setzero_si512();
        transpose16(v);
    }
    for (int p = 0; p < 16; p++) _mm512_store_si512(dst + p * 32, v[p]);
}

// C tile (rows x cols valid) = alpha * acc + beta * C
inline void write_tile(float* C, int ldc, const float* acc, int acc_ld, int rows, int cols, float alpha,
                       float beta) {
    const __mmask16 m = first(cols);
    const __m512 va = _mm512_set1_ps(alpha);
    for (int r = 0; r < rows; r++) {
        __m512 v = _mm512_mul_ps(va, _mm512_loadu_ps(acc + static_cast<int64_t>(r) * acc_ld));
        float* c = C + static_cast<int64_t>(r) * ldc;
        if (beta != 0.0f) v = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m, c), v);
        _mm512_mask_storeu_ps(c, m, v);
    }
}

// Accumulates k-blocks [kb0, kb1) of a (up to) 2x2-tile block. ap/bp point at the block's first
// m-tile / n-tile at kb = 0; successive m-tiles (n-tiles) are KB tiles apart. The accumulators are
// loaded from (and stored back to) acc, four 16x16 fp32 tiles with a row stride of acc_ld floats,
// unless zero_first.
template <int MT, int NT>
void block(const uint16_t* ap, const uint16_t* bp, int KB, int kb0, int kb1, float* acc, int acc_ld,
           bool zero_first) {
    const int64_t stride = static_cast<int64_t>(KB) * kTile;
    const int ldb = acc_ld * 4;
    if (zero_first) {
        _tile_zero(0);
        if (NT == 2) _tile_zero(1);
        if (MT == 2) _tile_zero(2);
        if (MT == 2 && NT == 2) _tile_zero(3);
    } else {
        _tile_loadd(0, acc, ldb);
        if (NT == 2) _tile_loadd(1, acc + 16, ldb);
        if (MT == 2) _tile_loadd(2, acc + 16 * acc_ld, ldb);
        if (MT == 2 && NT == 2) _tile_loadd(3, acc + 16 * acc_ld + 16, ldb);
    }
    for (int kb = kb0; kb < kb1; kb++) {
        const int64_t o = static_cast<int64_t>(kb) * kTile;
        _tile_loadd(4, ap + o, 64);
        if (MT == 2) _tile_loadd(5, ap + stride + o, 64);
        _tile_loadd(6, bp + o, 64);
        if (NT == 2) _tile_loadd(7, bp + stride + o, 64);
        _tile_dpbf16ps(0, 4, 6);
        if (NT == 2) _tile_dpbf16ps(1, 4, 7);
        if (MT == 2) _tile_dpbf16ps(2, 5, 6);
        if (MT == 2 && NT == 2) _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, acc, ldb);
    if (NT == 2) _tile_stored(1, acc + 16, ldb);
    if (MT == 2) _tile_stored(2, acc + 16 * acc_ld, ldb);
    if (MT == 2 && NT == 2) _tile_stored(3, acc + 16 * acc_ld + 16, ldb);
}

// What block() does, with AVX512-BF16 vector instructions: 8 rows of an m-tile at a time, so that
// their 16 accumulators (8 rows x 32 columns) and the two B rows fit in the 32 zmm registers.
template <int MT, int NT>
void block_vec(const uint16_t* ap, const uint16_t* bp, int KB, int kb0, int kb1, float* acc, int acc_ld,
               bool zero_first) {
    const int64_t stride = static_cast<int64_t>(KB) * kTile;
    for (int a = 0; a < MT; a++) {
        for (int r0 = 0; r0 < 16; r0 += 8) {
            float* c0 = acc + static_cast<int64_t>(a * 16 + r0) * acc_ld;
            __m512 c[8][2];
            for (int r = 0; r < 8; r++)
                for (int b = 0; b < NT; b++)
                    c[r][b] = zero_first ? _mm512_setzero_ps() : _mm512_loadu_ps(c0 + r * acc_ld + b * 16);
            for (int kb = kb0; kb < kb1; kb++) {
                const uint16_t* at = ap + a * stride + static_cast<int64_t>(kb) * kTile + r0 * 32;
                const uint16_t* bt = bp + static_cast<int64_t>(kb) * kTile;
                for (int p = 0; p < 16; p++) {
                    const __m512bh b0 = (__m512bh)_mm512_load_si512(bt + p * 32);
                    const __m512bh b1 = NT == 2 ? (__m512bh)_mm512_load_si512(bt + stride + p * 32) : b0;
                    for (int r = 0; r < 8; r++) {
                        int32_t pair;
                        std::memcpy(&pair, at + r * 32 + 2 * p, sizeof pair);
                        const __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
                        c[r][0] = _mm512_dpbf16_ps(c[r][0], av, b0);
                        if (NT == 2) c[r][1] = _mm512_dpbf16_ps(c[r][1], av, b1);
                    }
                }
            }
            for (int r = 0; r < 8; r++)
                for (int b = 0; b < NT; b++) _mm512_storeu_ps(c0 + r * acc_ld + b * 16, c[r][b]);
        }
    }
}

template <bool Tiles, int MT, int NT>
void kernel(const uint16_t* ap, const uint16_t* bp, int KB, int kb0, int kb1, float* acc, int acc_ld, bool zero_first) {
    if constexpr (Tiles) block<MT, NT>(ap, bp, KB, kb0, kb1, acc, acc_ld, zero_first);
    else block_vec<MT, NT>(ap, bp, KB, kb0, kb1, acc, acc_ld, zero_first);
}

template <bool Tiles>
void run_block(int mt_n, int nt_n, const uint16_t* ap, const uint16_t* bp, int KB, int kb0, int kb1, float* acc,
               int acc_ld, bool zero_first) {
    if (mt_n == 2 && nt_n == 2) kernel<Tiles, 2, 2>(ap, bp, KB, kb0, kb1, acc, acc_ld, zero_first);
    else if (mt_n == 2) kernel<Tiles, 2, 1>(ap, bp, KB, kb0, kb1, acc, acc_ld, zero_first);
    else if (nt_n == 2) kernel<Tiles, 1, 2>(ap, bp, KB, kb0, kb1, acc, acc_ld, zero_first);
    else kernel<Tiles, 1, 1>(ap, bp, KB, kb0, kb1, acc, acc_ld, zero_first);
}

thread_local Scratch tl_a, tl_acc;

}  // namespace

int64_t packed_b_elems(int K, int N) {
    return static_cast<int64_t>((N + 15) / 16) * ((K + 31) / 32) * kTile;
}

void pack_b(uint16_t* dst, bool trans_b, int K, int N, const float* B, int ldb) {
    const int NT = (N + 15) / 16, KB = (K + 31) / 32;
#pragma omp parallel for schedule(static) collapse(2)
    for (int nt = 0; nt < NT; nt++)
        for (int kb = 0; kb < KB; kb++)
            pack_b_tile(dst + (static_cast<int64_t>(nt) * KB + kb) * kTile, trans_b, B, ldb, K, N, nt, kb);
}

namespace {
// The product over packed B tiles; pack_a(dst, mt, kb) writes A's tile (mt, kb) and runs inside
// the parallel region, so the conversion of A is split across the threads too.
template <class PackA>
bool run(int M, int N, int KB, const PackA& pack_a, const uint16_t* Bp, float alpha, float beta, float* C, int ldc) {
    const int MT = (M + 15) / 16, NT = (N + 15) / 16;
    const int MB = (MT + 1) / 2, NB = (NT + 1) / 2;  // 32x32 blocks
    auto* Ap = static_cast<uint16_t*>(tl_a.get(static_cast<int64_t>(MT) * KB * kTile * 2));
    const bool chunked = KB > kChunkKb;
    // chunked: partial sums for all of C; else a 32x32 buffer per thread
    const int acc_ld = chunked ? NB * 32 : 32;
    const int threads = omp_get_max_threads();
    auto* acc_all = static_cast<float*>(
        tl_acc.get((chunked ? static_cast<int64_t>(MB) * 32 * acc_ld : static_cast<int64_t>(threads) * 1024) * 4));
    if (!Ap || !acc_all) return false;
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(static) collapse(2)
        for (int mt = 0; mt < MT; mt++)
            for (int kb = 0; kb < KB; kb++) pack_a(Ap + (static_cast<int64_t>(mt) * KB + kb) * kTile, mt, kb);
        const bool tiles = has_tiles();
        if (tiles) configure_tiles();
        float* mine = acc_all + static_cast<int64_t>(omp_get_thread_num()) * 1024;
        for (int kb0 = 0; kb0 < KB; kb0 += kChunkKb) {
            const int kb1 = std::min(KB, kb0 + kChunkKb);
            const bool last = kb1 == KB;
            // m-blocks outer: a thread's consecutive blocks share one A panel while B panels stream
            // (measured faster than the other way round, and than shorter K chunks)
#pragma omp for schedule(static)
            for (int blk = 0; blk < MB * NB; blk++) {
                const int mb = blk / NB, nb = blk % NB;
                const int mt = 2 * mb, nt = 2 * nb;
                const int mt_n = std::min(2, MT - mt), nt_n = std::min(2, NT - nt);
                float* acc = chunked ? acc_all + static_cast<int64_t>(mb) * 32 * acc_ld + nb * 32 : mine;
                (tiles ? run_block<true> : run_block<false>)(mt_n, nt_n, Ap + static_cast<int64_t>(mt) * KB * kTile,
                                                    Bp + static_cast<int64_t>(nt) * KB * kTile, KB, kb0, kb1, acc,
                                                    acc_ld, kb0 == 0);
                if (!last) continue;
                for (int a = 0; a < mt_n; a++)
                    for (int b = 0; b < nt_n; b++) {
                        const int i0 = (mt + a) * 16, j0 = (nt + b) * 16;
                        write_tile(C + static_cast<int64_t>(i0) * ldc + j0, ldc, acc + a * 16 * acc_ld + b * 16,
                                   acc_ld, std::min(16, M - i0), std::min(16, N - j0), alpha, beta);
                    }
            }
        }
        if (tiles) _tile_release();
    }
    return true;
}

thread_local Scratch tl_bj, tl_scaled;
}  // namespace

bool gemm_packed_b(bool trans_a, int M, int N, int K, float alpha, const float* A, int lda, const uint16_t* Bp,
                   float beta, float* C, int ldc) {
    const auto pack_a = [&](uint16_t* dst, int mt, int kb) { pack_a_tile(dst, trans_a, A, lda, M, K, mt, kb); };
    return run(M, N, (K + 31) / 32, pack_a, Bp, alpha, beta, C, ldc);
}

namespace {
thread_local Scratch tl_x;
}

bool gemv_packed_b(int M, const float* x, int ldx, int K, int N, const uint16_t* Bp, float* y, int ldy) {
    if (M < 1 || M > 2) return false;
    const int NT = (N + 15) / 16, KB = (K + 31) / 32, Kp = KB * 32;
    // x in bf16 as the tile products round it, zero-padded to the tiles' k
    auto* xp = static_cast<uint16_t*>(tl_x.get(static_cast<int64_t>(M) * Kp * 2));
    if (!xp) return false;
    for (int r = 0; r < M; r++) {
        uint16_t* xr = xp + static_cast<int64_t>(r) * Kp;
        t4j_f32_to_bf16(xr, x + static_cast<int64_t>(r) * ldx, K);
        std::fill(xr + K, xr + Kp, uint16_t{0});
    }
    const __m512i hi_mask = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(N) * K > (1 << 20))
    for (int nt = 0; nt < NT; nt++) {
        const uint16_t* bt = Bp + static_cast<int64_t>(nt) * KB * kTile;
        __m512 acc[2][2] = {{_mm512_setzero_ps(), _mm512_setzero_ps()}, {_mm512_setzero_ps(), _mm512_setzero_ps()}};
        for (int kb = 0; kb < KB; kb++) {
            const uint16_t* t = bt + static_cast<int64_t>(kb) * kTile;
            const uint16_t* x0 = xp + kb * 32;
            for (int p = 0; p < 16; p++) {
                // a k-pair row of 16 columns, and x's pair broadcast: even k in the low halves, odd k
                // in the high halves; a bf16 widens to fp32 by moving it to the high half
                const __m512i v = _mm512_load_si512(t + p * 32);
                const __m512 even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
                const __m512 odd = _mm512_castsi512_ps(_mm512_and_si512(v, hi_mask));
                for (int r = 0; r < M; r++) {
                    int32_t pair;
                    std::memcpy(&pair, x0 + static_cast<int64_t>(r) * Kp + 2 * p, sizeof pair);
                    const __m512i xv = _mm512_set1_epi32(pair);
                    acc[r][0] = _mm512_fmadd_ps(even, _mm512_castsi512_ps(_mm512_slli_epi32(xv, 16)), acc[r][0]);
                    acc[r][1] = _mm512_fmadd_ps(odd, _mm512_castsi512_ps(_mm512_and_si512(xv, hi_mask)), acc[r][1]);
                }
            }
        }
        const __mmask16 m = first(N - nt * 16);
        for (int r = 0; r < M; r++)
            _mm512_mask_storeu_ps(y + static_cast<int64_t>(r) * ldy + nt * 16, m, _mm512_add_ps(acc[r][0], acc[r][1]));
    }
    return true;
}

bool gemm_joined(int M, int N, const KPart* parts, int n, float alpha, float beta, float* C, int ldc) {
    // each part starts on a fresh k-block; the zero padding of both operands between parts adds nothing
    int KB = 0;
    int offset[kMaxParts];
    if (n > kMaxParts) return false;
    for (int i = 0; i < n; i++) {
        offset[i] = KB;
        KB += (parts[i].K + 31) / 32;
    }
    const int NT = (N + 15) / 16;
    auto* Bp = static_cast<uint16_t*>(tl_bj.get(static_cast<int64_t>(NT) * KB * kTile * 2));
    if (!Bp) return false;
    for (int i = 0; i < n; i++) {
        const KPart& q = parts[i];
        const float* B = q.B;
        if (q.scale != 1.0f) {  // a LoRA B: small enough to scale into a copy before converting
            const int64_t rows = q.trans_b ? N : q.K, cols = q.trans_b ? q.K : N;
            auto* s = static_cast<float*>(tl_scaled.get(rows * cols * 4));
            if (!s) return false;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < cols; c++) s[r * cols + c] = q.scale * q.B[r * q.ldb + c];
            B = s;
        }
        const int kbn = (q.K + 31) / 32, ldb = q.scale != 1.0f ? (q.trans_b ? q.K : N) : q.ldb;
#pragma omp parallel for schedule(static) collapse(2)
        for (int nt = 0; nt < NT; nt++)
            for (int kb = 0; kb < kbn; kb++)
                pack_b_tile(Bp + (static_cast<int64_t>(nt) * KB + offset[i] + kb) * kTile, q.trans_b, B, ldb, q.K, N,
                            nt, kb);
    }
    const auto pack_a = [&](uint16_t* dst, int mt, int kb) {
        int i = n - 1;
        while (kb < offset[i]) i--;
        const KPart& q = parts[i];
        pack_a_tile(dst, q.trans_a, q.A, q.lda, M, q.K, mt, kb - offset[i]);
    };
    return run(M, N, KB, pack_a, Bp, alpha, beta, C, ldc);
}

}  // namespace t4j::amx
