// Segmented multi-adapter LoRA for serving (t4j_lora_multi_* semantics; inference only, no
// backward). The per-slot tables travel by value as a kernel parameter, so a step needs no device
// copy of them and adapters may be loaded and unloaded between steps without touching device state.
// One block per row: meant for decode-sized batches; a long prefill re-reads its adapter's A and B
// per row from L2, which costs little next to the base GEMM it follows.
#include "common.cuh"

namespace t4jc {
namespace {

struct SlotTable {
    const float* a[T4JC_LORA_MULTI_MAX_SLOTS];
    const float* b[T4JC_LORA_MULTI_MAX_SLOTS];
    float scale[T4JC_LORA_MULTI_MAX_SLOTS];
    int rank[T4JC_LORA_MULTI_MAX_SLOTS];
};

// t[m, j] = scale_s . x[m] . A_s[j], one warp per rank component at a time; bad slots are reported.
__global__ void multi_shrink_kernel(float* t, const float* x, const int32_t* row_slot, SlotTable tab, int n_slots,
                                    int K, int max_r, Scratch* sc) {
    const int m = blockIdx.x, w = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    if (failed(sc)) return;  // an earlier op's check failed: write nothing
    const int s = row_slot[m];
    if (s < -1 || s >= n_slots) {
        if (threadIdx.x == 0) report(sc, T4JC_ERANGE, T4JC_CHECK_LORA_SLOT);
        return;
    }
    if (s < 0) return;
    const int r = tab.rank[s];
    const float* xr = x + (int64_t)m * K;
    for (int j = w; j < r; j += nw) {
        const float* arow = tab.a[s] + (int64_t)j * K;
        float acc = 0.0f;
        for (int k = lane; k < K; k += 32) acc = fmaf(xr[k], arow[k], acc);
        acc = warp_sum(acc);
        if (lane == 0) t[(int64_t)m * max_r + j] = acc * tab.scale[s];
    }
}

// y[m, n] += t[m] . B_s[n]
__global__ void multi_expand_kernel(float* y, const float* t, const int32_t* row_slot, SlotTable tab, int n_slots,
                                    int N, int max_r, const Scratch* sc) {
    extern __shared__ float tr[];
    const int m = blockIdx.y;
    if (failed(sc)) return;  // a bad slot in this batch, or an earlier op's failed check
    const int s = row_slot[m];
    if (s < 0 || s >= n_slots) return;
    const int r = tab.rank[s];
    if (r == 0) return;
    for (int j = threadIdx.x; j < r; j += blockDim.x) tr[j] = t[(int64_t)m * max_r + j];
    __syncthreads();
    const int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) return;
    const float* brow = tab.b[s] + (int64_t)n * r;
    float acc = 0.0f;
    for (int j = 0; j < r; j++) acc = fmaf(tr[j], brow[j], acc);
    y[(int64_t)m * N + n] += acc;
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int64_t t4jc_lora_multi_ws_floats(int M, int K, int N, int max_r) {
    (void)K; (void)N;
    int64_t n = (int64_t)M * max_r;
    return n > 0 ? n : 0;
}

int t4jc_lora_multi_fwd(float* y, const float* x, const int32_t* row_slot, int M, int K, int N,
                        const float* const* a, const float* const* b, const int32_t* ranks, const float* scales,
                        int n_slots, int max_r, float* ws, void* stream) {
    if (M < 0 || K < 0 || N < 0 || max_r < 0 || n_slots < 0 || n_slots > T4JC_LORA_MULTI_MAX_SLOTS || M > 65535) {
        return T4JC_EINVAL;
    }
    if (M == 0) return T4JC_OK;
    SlotTable tab = {};
    for (int s = 0; s < n_slots; s++) {
        if (ranks[s] < 0 || ranks[s] > max_r) return T4JC_EINVAL;
        tab.a[s] = a[s];
        tab.b[s] = b[s];
        tab.scale[s] = scales[s];
        tab.rank[s] = ranks[s];
    }
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    cudaStream_t st = S(stream);
    // the shrink kernel also validates the row slots, so it runs even when nothing is added
    multi_shrink_kernel<<<M, 256, 0, st>>>(ws, x, row_slot, tab, n_slots, K, max_r, sc);
    if (max_r == 0 || N == 0) return launched("lora multi");
    multi_expand_kernel<<<dim3((N + 127) / 128, M), 128, sizeof(float) * max_r, st>>>(y, ws, row_slot, tab, n_slots,
                                                                                      N, max_r, sc);
    return launched("lora multi");
}

}  // extern "C"
