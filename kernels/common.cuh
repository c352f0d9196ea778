// Shared by the kernel files: error plumbing, the device status word, reductions, the dropout hash.
#pragma once

#include <cuda_runtime.h>
#include <cuda_bf16.h>

#include <cstdint>

#include "tune4j_cuda.h"

namespace t4jc {

inline cudaStream_t S(void* stream) { return static_cast<cudaStream_t>(stream); }

// Records `what` and the CUDA error for t4jc_last_error(); returns T4JC_ECUDA.
int fail(cudaError_t e, const char* what);

// Status of the launches just made (a bad configuration shows up here, not as a crash).
inline int launched(const char* what) {
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? T4JC_OK : fail(e, what);
}

// A small per-process device block: [0] the status word (int), then result slots. NULL when there is
// no device; every op that needs it returns T4JC_ENODEV then.
struct Scratch {
    int status;      // first error recorded by a checking kernel (0 = none)
    int check;       // which check recorded it (T4JC_CHECK_*), so a deferred failure names its op
    int ivalue[3];   // integer results (token id, counted rows)
    double dvalue[4];// double results (sums of squares, losses)
};
Scratch* scratch();
// Synchronises and copies the scratch block to the host; returns the status word or a CUDA error. A
// recorded failure is cleared, and its check is kept for t4jc_take_failed_check.
int read_scratch(Scratch* host, cudaStream_t s);

// Checks do not synchronise: the first failure stays in the block (later checking kernels see it and
// write nothing) until the next read_scratch, usually the step's loss or a sampled token.
__device__ inline void report(Scratch* sc, int code, int check) {
    if (atomicCAS(&sc->status, 0, code) == 0) sc->check = check;
}
__device__ inline bool failed(const Scratch* sc) { return *(volatile const int*)&sc->status != 0; }

inline unsigned blocks_for(int64_t n, int threads, unsigned cap = 65535u * 8) {
    int64_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    return b > cap ? cap : static_cast<unsigned>(b);
}

__device__ inline float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ inline double warp_sum(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ inline float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread gets the result.
template <typename T>
__device__ T block_sum(T v) {
    __shared__ T part[32];
    __syncthreads();  // part may still be read by a previous call
    v = warp_sum(v);
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) part[w] = v;
    __syncthreads();
    T r = lane < nw ? part[lane] : T(0);
    return warp_sum(r);
}

__device__ inline float block_max(float v) {
    __shared__ float part[32];
    __syncthreads();
    v = warp_max(v);
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) part[w] = v;
    __syncthreads();
    float r = lane < nw ? part[lane] : -INFINITY;
    return warp_max(r);
}

__device__ inline float bf2f(uint16_t b) { return __uint_as_float(static_cast<uint32_t>(b) << 16); }
// round to nearest even; NaN stays NaN
__device__ inline uint16_t f2bf(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<uint16_t>(u >> 16);
}

// The CPU's dropout (native/src/lora.cpp): element e of x is kept iff the top 24 bits of
// mix64(key + (e+1)*gamma) reach the threshold. Must stay bit-identical to the CPU version.
__host__ __device__ inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;

struct Dropout {
    uint64_t key;
    uint64_t threshold;  // units of 2^-24
    float inv_keep;
    bool on;
    __host__ __device__ bool keep(int64_t e) const {
        return (mix64(key + static_cast<uint64_t>(e + 1) * kGamma) >> 40) >= threshold;
    }
    __host__ __device__ float apply(float v, int64_t e) const { return !on ? v : (keep(e) ? v * inv_keep : 0.0f); }
};

inline Dropout make_dropout(uint64_t seed, float p) {
    Dropout d;
    d.on = p > 0.0f;
    d.key = mix64(seed + kGamma);
    if (p >= 1.0f) {
        d.threshold = 1ull << 24;
        d.inv_keep = 0.0f;
    } else {
        d.threshold = p > 0.0f ? static_cast<uint64_t>(static_cast<double>(p) * 16777216.0) : 0;
        d.inv_keep = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    }
    return d;
}

}  // namespace t4jc
