// Causal grouped-query attention with a prefix, the semantics of native/src/attention.cpp.
//
// A block owns 8 rows (one per warp) of one (sequence, KV head): rows are the (query, group member)
// pairs i*G+g, so the K/V tiles staged in shared memory serve every query head that shares them.
// In a tile, lane j scores key j against its warp's row; the online softmax (running max m, sum l)
// rescales the accumulator, which each lane keeps for the head dims lane, lane+32, ... (hd <= 256).
// Backward recomputes P = exp(S - lse), forms dS = P (dP - D) with D = rowsum(dO o O), keeps dq in
// registers and sums the tile's dk/dv over the block's rows in shared memory before one atomicAdd
// per element into the global gradients (so dk/dv accumulation order is not fixed).
// Scores are scale * q.k; a soft cap (Gemma 2) turns them into cap tanh(s / cap) before the mask and
// softmax, and backward multiplies dS by 1 - tanh^2 (a branch uniform over the grid).
#include "common.cuh"

#include <climits>

namespace t4jc {
namespace {

constexpr int WARPS = 8;
constexpr int KT = 32;     // keys per tile: one per lane
constexpr int MAXC = 8;    // head dims per lane: hd <= 32 * MAXC

struct Shape {
    int B, Tq, Tk, P, nh, nkv, hd, G;
    float scale;
    int window;     // sliding window over real keys; 0: none
    float softcap;  // > 0: scores become softcap tanh(s / softcap); 0: none
};

__global__ void attn_check_kernel(Scratch* sc, const int32_t* q_start, const int32_t* kv_start, Shape s) {
    int64_t n = (int64_t)s.B * s.Tq;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int b = (int)(e / s.Tq), i = (int)(e % s.Tq);
        int qs = q_start ? q_start[b] : 0;
        if (qs < 0 || (int64_t)qs + s.Tq > s.Tk) {
            report(sc, T4JC_EINVAL, T4JC_CHECK_ATTENTION);
            continue;
        }
        if (kv_start) {
            int lo = kv_start[e];
            if (lo < 0 || lo > qs + i) report(sc, T4JC_EINVAL, T4JC_CHECK_ATTENTION);  // every query must see itself
        }
    }
}

struct RowInfo {
    bool valid;
    int i, h, lo, hi;
    int64_t qi;  // b*Tq + i
};

__device__ inline RowInfo row_info(const Shape& s, const int32_t* q_start, const int32_t* kv_start, int b, int kvh) {
    RowInfo ri;
    int r = blockIdx.x * WARPS + (threadIdx.x >> 5);
    ri.valid = r < s.Tq * s.G;
    int i = ri.valid ? r / s.G : 0, g = ri.valid ? r % s.G : 0;
    ri.i = i;
    ri.h = kvh * s.G + g;
    ri.qi = (int64_t)b * s.Tq + i;
    int qs = q_start ? q_start[b] : 0;
    ri.lo = ri.valid ? (kv_start ? kv_start[ri.qi] : 0) : INT_MAX;
    ri.hi = ri.valid ? qs + i : -1;
    if (ri.valid && s.window > 0) ri.lo = max(ri.lo, ri.hi - s.window + 1);  // the window's oldest key
    return ri;
}

// The block's key range: the union of its rows' visible ranges.
__device__ inline void block_range(const RowInfo& ri, int& jlo, int& jhi) {
    __shared__ int slo[WARPS], shi[WARPS];
    int w = threadIdx.x >> 5;
    if ((threadIdx.x & 31) == 0) {
        slo[w] = ri.lo;
        shi[w] = ri.hi;
    }
    __syncthreads();
    jlo = INT_MAX;
    jhi = -1;
    for (int x = 0; x < WARPS; x++) {
        jlo = min(jlo, slo[x]);
        jhi = max(jhi, shi[x]);
    }
}

// Stages rows j0..j0+n-1 (head kvh) of src into dst[j][x] with row pitch `pitch`; zeros beyond n.
__device__ inline void load_tile(float* dst, int pitch, const float* src, int64_t row_stride, int n, int hd) {
    for (int e = threadIdx.x; e < KT * hd; e += blockDim.x) {
        int j = e / hd, x = e % hd;
        dst[j * pitch + x] = j < n ? src[(int64_t)j * row_stride + x] : 0.0f;
    }
}

__global__ void __launch_bounds__(WARPS * 32) attn_fwd_kernel(const Scratch* sc, float* out, float* lse, const float* q,
                                                              const float* k, const float* v, const float* pk,
                                                              const float* pv, const int32_t* q_start,
                                                              const int32_t* kv_start, Shape s) {
    if (failed(sc)) return;
    extern __shared__ float smem[];
    const int hd = s.hd, kp = hd + 1;
    float* qs = smem;                 // [WARPS][hd]
    float* Ks = qs + WARPS * hd;      // [KT][hd+1]
    float* Vs = Ks + KT * kp;         // [KT][hd]
    const int kvh = blockIdx.y, b = blockIdx.z, w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t qrow = (int64_t)s.nh * hd, krow = (int64_t)s.nkv * hd;

    RowInfo ri = row_info(s, q_start, kv_start, b, kvh);
    for (int x = lane; x < hd; x += 32)
        qs[w * hd + x] = ri.valid ? q[ri.qi * qrow + (int64_t)ri.h * hd + x] * s.scale : 0.0f;
    int jlo, jhi;
    block_range(ri, jlo, jhi);

    float m = -INFINITY, l = 0.0f, acc[MAXC];
#pragma unroll
    for (int c = 0; c < MAXC; c++) acc[c] = 0.0f;

    const int nPrefixTiles = (s.P + KT - 1) / KT;
    const int firstTile = jlo / KT * KT;
    const int nKeyTiles = jhi < jlo ? 0 : (jhi - firstTile) / KT + 1;
    for (int t = 0; t < nPrefixTiles + nKeyTiles; t++) {
        const bool prefix = t < nPrefixTiles;
        const int j0 = prefix ? t * KT : firstTile + (t - nPrefixTiles) * KT;
        const int n = prefix ? min(KT, s.P - j0) : min(KT, s.Tk - j0);
        const float* ksrc = prefix ? pk + (int64_t)j0 * krow + (int64_t)kvh * hd
                                   : k + ((int64_t)b * s.Tk + j0) * krow + (int64_t)kvh * hd;
        const float* vsrc = prefix ? pv + (int64_t)j0 * krow + (int64_t)kvh * hd
                                   : v + ((int64_t)b * s.Tk + j0) * krow + (int64_t)kvh * hd;
        __syncthreads();
        load_tile(Ks, kp, ksrc, krow, n, hd);
        load_tile(Vs, hd, vsrc, krow, n, hd);
        __syncthreads();
        if (!ri.valid) continue;
        int j = j0 + lane;
        bool vis = lane < n && (prefix || (j >= ri.lo && j <= ri.hi));
        float sc_ = -INFINITY;
        if (vis) {
            float d = 0.0f;
            for (int x = 0; x < hd; x++) d = fmaf(qs[w * hd + x], Ks[lane * kp + x], d);
            sc_ = s.softcap > 0.0f ? s.softcap * tanhf(d * (1.0f / s.softcap)) : d;
        }
        float mt = warp_max(sc_);
        if (mt == -INFINITY) continue;  // no visible key in this tile (uniform across the warp)
        float mn = fmaxf(m, mt);
        float corr = expf(m - mn);  // 0 on the first visible tile (m = -inf)
        float p = vis ? expf(sc_ - mn) : 0.0f;
        l = l * corr + warp_sum(p);
#pragma unroll
        for (int c = 0; c < MAXC; c++) acc[c] *= corr;
        for (int jj = 0; jj < n; jj++) {
            float pj = __shfl_sync(0xffffffffu, p, jj);
            if (pj == 0.0f) continue;
#pragma unroll
            for (int c = 0; c < MAXC; c++) {
                int x = lane + 32 * c;
                if (x < hd) acc[c] = fmaf(pj, Vs[jj * hd + x], acc[c]);
            }
        }
        m = mn;
    }
    if (!ri.valid) return;
    float inv = 1.0f / l;
    float* o = out + ri.qi * qrow + (int64_t)ri.h * hd;
#pragma unroll
    for (int c = 0; c < MAXC; c++) {
        int x = lane + 32 * c;
        if (x < hd) o[x] = acc[c] * inv;
    }
    if (lse && lane == 0) lse[ri.qi * s.nh + ri.h] = m + logf(l);
}

// D[row] = dO . O for every (b, i, h) row: one warp per row.
__global__ void attn_delta_kernel(const Scratch* sc, float* D, const float* dout, const float* out, int64_t rows, int hd) {
    if (failed(sc)) return;
    int64_t r = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5);
    if (r >= rows) return;
    int lane = threadIdx.x & 31;
    float d = 0.0f;
    for (int x = lane; x < hd; x += 32) d = fmaf(dout[r * hd + x], out[r * hd + x], d);
    d = warp_sum(d);
    if (lane == 0) D[r] = d;
}

__global__ void __launch_bounds__(WARPS * 32) attn_bwd_kernel(const Scratch* sc, float* dq, float* dk, float* dv,
                                                              float* dpk, float* dpv, const float* dout,
                                                              const float* lse, const float* D, const float* q,
                                                              const float* k, const float* v, const float* pk,
                                                              const float* pv, const int32_t* q_start,
                                                              const int32_t* kv_start, Shape s) {
    if (failed(sc)) return;
    extern __shared__ float smem[];
    const int hd = s.hd, kp = hd + 1;
    float* qs = smem;                // [WARPS][hd] scaled queries
    float* dos = qs + WARPS * hd;    // [WARPS][hd] output gradients
    float* Ks = dos + WARPS * hd;    // [KT][hd+1]
    float* Vs = Ks + KT * kp;        // [KT][hd+1]
    float* dKs = Vs + KT * kp;       // [KT][hd]
    float* dVs = dKs + KT * hd;      // [KT][hd]
    const int kvh = blockIdx.y, b = blockIdx.z, w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t qrow = (int64_t)s.nh * hd, krow = (int64_t)s.nkv * hd;

    RowInfo ri = row_info(s, q_start, kv_start, b, kvh);
    for (int x = lane; x < hd; x += 32) {
        int64_t off = ri.qi * qrow + (int64_t)ri.h * hd + x;
        qs[w * hd + x] = ri.valid ? q[off] * s.scale : 0.0f;
        dos[w * hd + x] = ri.valid ? dout[off] : 0.0f;
    }
    for (int e = threadIdx.x; e < 2 * KT * hd; e += blockDim.x) dKs[e] = 0.0f;
    const float rl = ri.valid ? lse[ri.qi * s.nh + ri.h] : 0.0f;
    const float rD = ri.valid ? D[ri.qi * s.nh + ri.h] : 0.0f;
    int jlo, jhi;
    block_range(ri, jlo, jhi);

    float dqa[MAXC];
#pragma unroll
    for (int c = 0; c < MAXC; c++) dqa[c] = 0.0f;

    const int nPrefixTiles = (s.P + KT - 1) / KT;
    const int firstTile = jlo / KT * KT;
    const int nKeyTiles = jhi < jlo ? 0 : (jhi - firstTile) / KT + 1;
    for (int t = 0; t < nPrefixTiles + nKeyTiles; t++) {
        const bool prefix = t < nPrefixTiles;
        const int j0 = prefix ? t * KT : firstTile + (t - nPrefixTiles) * KT;
        const int n = prefix ? min(KT, s.P - j0) : min(KT, s.Tk - j0);
        const int64_t base = prefix ? (int64_t)j0 * krow + (int64_t)kvh * hd
                                    : ((int64_t)b * s.Tk + j0) * krow + (int64_t)kvh * hd;
        float* gk = prefix ? dpk : dk;
        float* gv = prefix ? dpv : dv;
        __syncthreads();
        load_tile(Ks, kp, (prefix ? pk : k) + base, krow, n, hd);
        load_tile(Vs, kp, (prefix ? pv : v) + base, krow, n, hd);
        __syncthreads();
        if (ri.valid) {
            int j = j0 + lane;
            bool vis = lane < n && (prefix || (j >= ri.lo && j <= ri.hi));
            float p = 0.0f, ds = 0.0f;
            if (vis) {
                float sdot = 0.0f, pdot = 0.0f;
                for (int x = 0; x < hd; x++) {
                    sdot = fmaf(qs[w * hd + x], Ks[lane * kp + x], sdot);
                    pdot = fmaf(dos[w * hd + x], Vs[lane * kp + x], pdot);
                }
                if (s.softcap > 0.0f) {
                    float th = tanhf(sdot * (1.0f / s.softcap));
                    p = expf(s.softcap * th - rl);
                    ds = p * (pdot - rD) * ((1.0f - th) * (1.0f + th));  // through the cap: 1 - tanh^2
                } else {
                    p = expf(sdot - rl);
                    ds = p * (pdot - rD);
                }
            }
            for (int jj = 0; jj < n; jj++) {
                float pj = __shfl_sync(0xffffffffu, p, jj);
                float dsj = __shfl_sync(0xffffffffu, ds, jj);
                if (pj == 0.0f && dsj == 0.0f) continue;
#pragma unroll
                for (int c = 0; c < MAXC; c++) {
                    int x = lane + 32 * c;
                    if (x >= hd) continue;
                    dqa[c] = fmaf(dsj, Ks[jj * kp + x], dqa[c]);
                    if (gk) atomicAdd(&dKs[jj * hd + x], dsj * qs[w * hd + x]);
                    if (gv) atomicAdd(&dVs[jj * hd + x], pj * dos[w * hd + x]);
                }
            }
        }
        __syncthreads();
        for (int e = threadIdx.x; e < n * hd; e += blockDim.x) {
            int jj = e / hd, x = e % hd;
            if (gk) atomicAdd(gk + base + (int64_t)jj * krow + x, dKs[e]);
            if (gv) atomicAdd(gv + base + (int64_t)jj * krow + x, dVs[e]);
        }
        for (int e = threadIdx.x; e < 2 * KT * hd; e += blockDim.x) dKs[e] = 0.0f;
    }
    if (!ri.valid || !dq) return;
    float* g = dq + ri.qi * qrow + (int64_t)ri.h * hd;
#pragma unroll
    for (int c = 0; c < MAXC; c++) {
        int x = lane + 32 * c;
        if (x < hd) g[x] += dqa[c] * s.scale;
    }
}

int check_host(const Shape& s, const float* pk, const float* pv) {
    if (s.B <= 0 || s.Tq <= 0 || s.Tk <= 0 || s.P < 0 || s.nh <= 0 || s.nkv <= 0 || s.hd <= 0) return T4JC_EINVAL;
    if (s.nh % s.nkv != 0 || s.hd > 32 * MAXC || s.window < 0) return T4JC_EINVAL;
    if (!(s.scale > 0.0f) || isinf(s.scale) || !(s.softcap >= 0.0f) || isinf(s.softcap)) return T4JC_EINVAL;
    if (s.P > 0 && (!pk || !pv)) return T4JC_EINVAL;
    if ((int64_t)s.Tq * (s.nh / s.nkv) / WARPS + 1 > INT_MAX || s.nkv > 65535 || s.B > 65535) return T4JC_EINVAL;
    return T4JC_OK;
}

Shape make_shape(int B, int Tq, int Tk, int P, int nh, int nkv, int hd) {
    Shape s{B, Tq, Tk, P, nh, nkv, hd, nkv > 0 ? nh / nkv : 1, 0.0f, 0, 0.0f};
    s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
    return s;
}

dim3 grid_for(const Shape& s) { return dim3((unsigned)((s.Tq * s.G + WARPS - 1) / WARPS), s.nkv, s.B); }

__global__ void kv_check_kernel(Scratch* sc, const int32_t* q_start, int B, int Tq, int Tmax) {
    for (int b = blockIdx.x * blockDim.x + threadIdx.x; b < B; b += gridDim.x * blockDim.x) {
        int qs = q_start ? q_start[b] : 0;
        if (qs < 0 || (int64_t)qs + Tq > Tmax) report(sc, T4JC_ERANGE, T4JC_CHECK_KV_WRITE);
    }
}

__global__ void kv_write_kernel(const Scratch* sc, float* cache, const float* src, const int32_t* q_start, int B,
                                int Tq, int Tmax, int width) {
    if (failed(sc)) return;
    int64_t per = (int64_t)Tq * width, n = (int64_t)B * per;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int b = (int)(e / per);
        int64_t r = e % per;
        int qs = q_start ? q_start[b] : 0;
        cache[((int64_t)b * Tmax + qs) * width + r] = src[e];
    }
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int64_t t4jc_attention_ws_floats(int B, int Tq, int Tk, int P, int nh, int nkv, int hd) {
    (void)Tk; (void)P; (void)nkv; (void)hd;
    int64_t n = (int64_t)B * Tq * nh;
    return n > 0 ? n : 0;
}

int t4jc_attention_fwd(float* out, float* lse, const float* q, const float* k, const float* v, const float* pk,
                       const float* pv, const int32_t* q_start, const int32_t* kv_start, int B, int Tq, int Tk, int P,
                       int nh, int nkv, int hd, int window, float scale, float softcap, float* ws, void* stream) {
    (void)ws;
    Shape s = make_shape(B, Tq, Tk, P, nh, nkv, hd);
    s.window = window;
    s.scale = scale;
    s.softcap = softcap;
    int rc = check_host(s, pk, pv);
    if (rc) return rc;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    cudaStream_t st = S(stream);
    attn_check_kernel<<<blocks_for((int64_t)B * Tq, 256), 256, 0, st>>>(sc, q_start, kv_start, s);
    size_t smem = sizeof(float) * ((size_t)WARPS * hd + (size_t)KT * (hd + 1) + (size_t)KT * hd);
    cudaError_t e = cudaFuncSetAttribute(attn_fwd_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return fail(e, "attention shared memory");
    attn_fwd_kernel<<<grid_for(s), WARPS * 32, smem, st>>>(sc, out, lse, q, k, v, pk, pv, q_start, kv_start, s);
    return launched("attention");
}

int t4jc_attention_bwd(float* dq, float* dk, float* dv, float* dpk, float* dpv, const float* dout, const float* out,
                       const float* lse, const float* q, const float* k, const float* v, const float* pk,
                       const float* pv, const int32_t* q_start, const int32_t* kv_start, int B, int Tq, int Tk, int P,
                       int nh, int nkv, int hd, int window, float scale, float softcap, float* ws, void* stream) {
    Shape s = make_shape(B, Tq, Tk, P, nh, nkv, hd);
    s.window = window;
    s.scale = scale;
    s.softcap = softcap;
    int rc = check_host(s, pk, pv);
    if (rc) return rc;
    if (!dq && !dk && !dv && !(P > 0 && (dpk || dpv))) return T4JC_OK;
    if (!ws) return T4JC_EINVAL;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    cudaStream_t st = S(stream);
    attn_check_kernel<<<blocks_for((int64_t)B * Tq, 256), 256, 0, st>>>(sc, q_start, kv_start, s);
    int64_t rows = (int64_t)B * Tq * nh;
    attn_delta_kernel<<<blocks_for(rows * 32, 256, 0x7fffffff), 256, 0, st>>>(sc, ws, dout, out, rows, hd);
    size_t smem = sizeof(float) * (2 * (size_t)WARPS * hd + 2 * (size_t)KT * (hd + 1) + 2 * (size_t)KT * hd);
    cudaError_t e = cudaFuncSetAttribute(attn_bwd_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return fail(e, "attention backward shared memory");
    attn_bwd_kernel<<<grid_for(s), WARPS * 32, smem, st>>>(sc, dq, dk, dv, P > 0 ? dpk : nullptr,
                                                           P > 0 ? dpv : nullptr, dout, lse, ws, q, k, v, pk, pv,
                                                           q_start, kv_start, s);
    return launched("attention backward");
}

int t4jc_kv_write(float* cache, const float* src, const int32_t* q_start, int B, int Tq, int Tmax, int width,
                  void* stream) {
    if (B < 0 || Tq < 0 || Tmax < 0 || width < 0) return T4JC_EINVAL;
    if (B == 0 || Tq == 0 || width == 0) return T4JC_OK;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    kv_check_kernel<<<blocks_for(B, 256), 256, 0, S(stream)>>>(sc, q_start, B, Tq, Tmax);
    kv_write_kernel<<<blocks_for((int64_t)B * Tq * width, 256), 256, 0, S(stream)>>>(sc, cache, src, q_start, B, Tq,
                                                                                     Tmax, width);
    return launched("kv write");
}

}  // extern "C"
