// Token embedding: row gather forward, atomicAdd scatter backward (repeated ids are summed in no
// fixed order, unlike the CPU's column-blocked scatter).
#include "common.cuh"

namespace t4jc {
namespace {

__global__ void ids_check_kernel(Scratch* sc, const int32_t* ids, int M, int V) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < M; i += gridDim.x * blockDim.x)
        if (ids[i] < 0 || ids[i] >= V) report(sc, T4JC_ERANGE, T4JC_CHECK_EMBEDDING);
}

template <typename T>
__global__ void gather_kernel(const Scratch* sc, float* out, const int32_t* ids, const T* table, int M, int d) {
    if (failed(sc)) return;
    for (int i = blockIdx.x; i < M; i += gridDim.x) {
        const T* src = table + (int64_t)ids[i] * d;
        float* dst = out + (int64_t)i * d;
        for (int j = threadIdx.x; j < d; j += blockDim.x) {
            if constexpr (sizeof(T) == 2) dst[j] = bf2f(src[j]);
            else dst[j] = src[j];
        }
    }
}

__global__ void scatter_kernel(const Scratch* sc, float* dtable, const float* dout, const int32_t* ids, int M, int d) {
    if (failed(sc)) return;
    for (int i = blockIdx.x; i < M; i += gridDim.x) {
        float* dst = dtable + (int64_t)ids[i] * d;
        const float* src = dout + (int64_t)i * d;
        for (int j = threadIdx.x; j < d; j += blockDim.x) atomicAdd(dst + j, src[j]);
    }
}

template <typename T>
int gather(float* out, const int32_t* ids, const T* table, int M, int V, int d, cudaStream_t s) {
    if (M < 0 || V < 0 || d < 0) return T4JC_EINVAL;
    if (M == 0) return T4JC_OK;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    ids_check_kernel<<<blocks_for(M, 256), 256, 0, s>>>(sc, ids, M, V);
    if (d > 0) gather_kernel<T><<<M < 65535 ? M : 65535, d >= 256 ? 256 : 64, 0, s>>>(sc, out, ids, table, M, d);
    return launched("embedding");
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_embedding_fwd(float* out, const int32_t* ids, const float* table, int M, int V, int d, void* stream) {
    return gather(out, ids, table, M, V, d, S(stream));
}

int t4jc_embedding_fwd_bf16(float* out, const int32_t* ids, const uint16_t* table, int M, int V, int d, void* stream) {
    return gather(out, ids, table, M, V, d, S(stream));
}

int t4jc_embedding_bwd(float* dtable, const float* dout, const int32_t* ids, int M, int V, int d, void* stream) {
    if (M < 0 || V < 0 || d < 0) return T4JC_EINVAL;
    if (M == 0) return T4JC_OK;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    ids_check_kernel<<<blocks_for(M, 256), 256, 0, S(stream)>>>(sc, ids, M, V);
    if (d > 0) scatter_kernel<<<M < 65535 ? M : 65535, d >= 256 ? 256 : 64, 0, S(stream)>>>(sc, dtable, dout, ids, M, d);
    return launched("embedding backward");
}

}  // extern "C"
