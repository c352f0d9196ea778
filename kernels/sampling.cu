// Next-token selection with the CPU's semantics (native/src/sampling.cpp): repetition penalty,
// greedy when temperature <= 0, otherwise top-k / top-p over candidates ordered by probability
// (ties by id) and a walk of the cumulative mass with the caller's coin. One block does it all: a
// bitonic sort of the candidate ids (ws[V..2V)) by p (ws[0..V)) when a filter is on. Cumulative
// sums are formed per thread chunk in double, so they match the CPU's sequential sums up to rounding.
#include "common.cuh"

#include <climits>

namespace t4jc {
namespace {

constexpr int kThreads = 1024;

// Better candidate: higher value; NaN never wins; ties go to the lower index.
__device__ inline bool argmax_better(float v, int i, float bv, int bi) {
    if (isnan(v)) return isnan(bv) && i > bi;  // all-NaN input ends at the last index, as on the CPU
    if (isnan(bv)) return true;
    return v > bv || (v == bv && i < bi);
}

__device__ int block_argmax(const float* x, int n) {
    __shared__ float sv[32];
    __shared__ int si[32];
    float bv = NAN;
    int bi = -1;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        if (bi < 0 || argmax_better(x[i], i, bv, bi)) {
            bv = x[i];
            bi = i;
        }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, bv, o);
        int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (oi >= 0 && (bi < 0 || argmax_better(ov, oi, bv, bi))) {
            bv = ov;
            bi = oi;
        }
    }
    __syncthreads();
    if ((threadIdx.x & 31) == 0) {
        sv[threadIdx.x >> 5] = bv;
        si[threadIdx.x >> 5] = bi;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x >> 5); w++)
            if (si[w] >= 0 && (si[0] < 0 || argmax_better(sv[w], si[w], sv[0], si[0]))) {
                sv[0] = sv[w];
                si[0] = si[w];
            }
    }
    __syncthreads();
    int r = si[0];
    return r < 0 ? 0 : r;
}

// The i-th candidate's mass: sorted order when idx is given, else natural order.
__device__ inline float cand(const float* p, const int32_t* idx, int i) { return idx ? p[idx[i]] : p[i]; }

__device__ double prefix_mass(const float* p, const int32_t* idx, int n) {
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += cand(p, idx, i);
    return block_sum(s);
}

// Smallest i < n whose inclusive cumulative mass exceeds thr (strict) or reaches it; n if none.
__device__ int first_crossing(const float* p, const int32_t* idx, int n, double thr, bool strict) {
    __shared__ double chunk[kThreads];
    __shared__ int found;
    const int per = (n + blockDim.x - 1) / blockDim.x;
    const int c0 = min(n, (int)threadIdx.x * per), c1 = min(n, c0 + per);
    double s = 0.0;
    for (int i = c0; i < c1; i++) s += cand(p, idx, i);
    __syncthreads();
    chunk[threadIdx.x] = s;
    if (threadIdx.x == 0) found = INT_MAX;
    __syncthreads();
    if (threadIdx.x == 0) {  // exclusive scan of 1024 chunk sums: short enough for one thread
        double run = 0.0;
        for (int t = 0; t < (int)blockDim.x; t++) {
            double v = chunk[t];
            chunk[t] = run;
            run += v;
        }
    }
    __syncthreads();
    double cum = chunk[threadIdx.x];
    for (int i = c0; i < c1; i++) {
        cum += cand(p, idx, i);
        if (strict ? cum > thr : cum >= thr) {
            atomicMin(&found, i);
            break;
        }
    }
    __syncthreads();
    return found == INT_MAX ? n : found;
}

// Descending by p, ascending id on ties. A bitonic network whose every comparison puts the better
// element first, so positions past V act as the worst elements and those comparisons are skipped.
__device__ void sort_by_prob(const float* p, int32_t* idx, int V) {
    for (int i = threadIdx.x; i < V; i += blockDim.x) idx[i] = i;
    int N = 1;
    while (N < V) N <<= 1;
    __syncthreads();
    for (int k = 2; k <= N; k <<= 1) {
        for (int j = k >> 1; j > 0; j >>= 1) {
            const bool flip = j == (k >> 1);
            for (int t = threadIdx.x; t < N / 2; t += blockDim.x) {
                int i = (t / j) * 2 * j + (t % j);                  // lower element of the pair
                int l = flip ? (i | (k - 1)) - (i & (k - 1)) : i + j;  // mirror in the k-block, or i + j
                if (l >= V || i >= V) continue;
                int a = idx[i], b = idx[l];
                float pa = p[a], pb = p[b];
                if (pb > pa || (pb == pa && b < a)) {
                    idx[i] = b;
                    idx[l] = a;
                }
            }
            __syncthreads();
        }
    }
}

__global__ void __launch_bounds__(kThreads) sample_kernel(int* result, float* logits, int V, float temperature, int top_k,
                                                          float top_p, float penalty, const int32_t* recent,
                                                          int n_recent, float coin, float* ws) {
    if (penalty != 1.0f && recent && n_recent > 0) {
        // each distinct id once (its first occurrence), whatever the sign of its logit
        for (int r = threadIdx.x; r < n_recent; r += blockDim.x) {
            int id = recent[r];
            if (id < 0 || id >= V) continue;
            bool first = true;
            for (int q = 0; q < r && first; q++) first = recent[q] != id;
            if (!first) continue;
            float l = logits[id];
            logits[id] = l > 0.0f ? l / penalty : l * penalty;
        }
        __syncthreads();
    }
    const int best = block_argmax(logits, V);
    if (!(temperature > 0.0f)) {
        if (threadIdx.x == 0) *result = best;
        return;
    }
    float* p = ws;
    int32_t* idx = reinterpret_cast<int32_t*>(ws + V);
    const float mx = logits[best], invT = 1.0f / temperature;
    for (int i = threadIdx.x; i < V; i += blockDim.x) p[i] = expf((logits[i] - mx) * invT);
    __syncthreads();
    const double total = prefix_mass(p, nullptr, V);
    const bool use_k = top_k > 0 && top_k < V, use_p = top_p < 1.0f;
    if (!use_k && !use_p) {
        int i = first_crossing(p, nullptr, V, (double)coin * total, true);
        if (i >= V) {  // coin rounding at the top: the last id with mass
            __shared__ int last;
            if (threadIdx.x == 0) last = best;
            __syncthreads();
            for (int j = threadIdx.x; j < V; j += blockDim.x)
                if (p[j] > 0.0f) atomicMax(&last, j);
            __syncthreads();
            i = last;
        }
        if (threadIdx.x == 0) *result = i;
        return;
    }
    sort_by_prob(p, idx, V);
    int n = V;
    if (use_k) {
        n = top_k;
    } else {
        // the CPU grows its candidate prefix 64, 256, ... until it holds top_p of the mass
        n = min(V, 64);
        while (n < V && prefix_mass(p, idx, n) < top_p * total) n = min(V, n * 4);
    }
    if (use_p) {
        double mass = prefix_mass(p, idx, n);
        int keep = first_crossing(p, idx, n, top_p * mass, false);
        n = max(1, keep < n ? keep + 1 : n);
    }
    double kept = prefix_mass(p, idx, n);
    int i = first_crossing(p, idx, n, (double)coin * kept, true);
    if (threadIdx.x == 0) *result = idx[i < n ? i : n - 1];
}

__global__ void argmax_kernel(int* result, const float* x, int n) {
    int r = block_argmax(x, n);
    if (threadIdx.x == 0) *result = r;
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_sample(float* logits, int V, float temperature, int top_k, float top_p, float repetition_penalty,
                const int32_t* recent, int n_recent, float coin, float* ws, void* stream) {
    if (V <= 0) return T4JC_EINVAL;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    cudaStream_t st = S(stream);
    sample_kernel<<<1, kThreads, 0, st>>>(&sc->ivalue[1], logits, V, temperature, top_k, top_p, repetition_penalty,
                                          recent, n_recent, coin, ws);
    int rc = launched("sample");
    if (rc) return rc;
    Scratch h;
    rc = read_scratch(&h, st);
    return rc ? rc : h.ivalue[1];
}

int t4jc_argmax(const float* x, int n, void* stream) {
    if (n <= 0) return 0;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    cudaStream_t st = S(stream);
    argmax_kernel<<<1, kThreads, 0, st>>>(&sc->ivalue[1], x, n);
    int rc = launched("argmax");
    if (rc) return rc;
    Scratch h;
    rc = read_scratch(&h, st);
    return rc ? rc : h.ivalue[1];
}

}  // extern "C"
