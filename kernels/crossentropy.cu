// Softmax cross-entropy fused with its gradient (in place on the logits), and the LM head fused with
// it so the [M,V] logits of a batch never exist. One block per row: each thread keeps an online
// (max, sum) over its strided share of the vocabulary, the block merges them, and a second sweep
// writes grad_scale * (softmax - onehot). Rows of the same block of logits are independent.
// With a soft cap (Gemma 2's final logits) every read logit v becomes cap tanh(v / cap), and the gradient
// written is the one with respect to the raw logit: times 1 - tanh^2.
#include <cstddef>

#include "gemm.cuh"

namespace t4jc {
namespace {

constexpr int kThreads = 512;

__global__ void targets_check_kernel(Scratch* sc, const int32_t* t, int M, int V) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < M; i += gridDim.x * blockDim.x)
        if (t[i] != -100 && (t[i] < 0 || t[i] >= V)) report(sc, T4JC_ERANGE, T4JC_CHECK_TARGETS);
}

// CAP is a template flag so the uncapped kernel is the one it always was
template <bool CAP>
__device__ inline float capped(float v, float cap) { return CAP ? cap * tanhf(v * (1.0f / cap)) : v; }

template <bool CAP>
__global__ void __launch_bounds__(kThreads) ce_kernel(Scratch* sc, float* losses, float* logits,
                                                      const int32_t* targets, int V, float grad_scale, float cap) {
    const int row = blockIdx.x;
    float* x = logits + (int64_t)row * V;
    if (failed(sc)) {
        // a bad target leaves the caller's buffers alone; the LM head's scratch logits are zeroed so
        // the gradient products that follow add nothing
        if (!losses && grad_scale != 0.0f)
            for (int j = threadIdx.x; j < V; j += blockDim.x) x[j] = 0.0f;
        return;
    }
    const int t = targets[row];
    if (t == -100) {
        if (losses && threadIdx.x == 0) losses[row] = 0.0f;
        if (grad_scale != 0.0f)
            for (int j = threadIdx.x; j < V; j += blockDim.x) x[j] = 0.0f;
        return;
    }
    const float xt = capped<CAP>(x[t], cap);  // read before any thread overwrites the row
    float m = -INFINITY, s = 0.0f;
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float v = capped<CAP>(x[j], cap);
        if (v > m) {
            s = s * expf(m - v) + 1.0f;
            m = v;
        } else {
            s += expf(v - m);
        }
    }
    const float M = block_max(m);
    const double sum = block_sum((double)(m == -INFINITY ? 0.0f : s * expf(m - M)));
    if (threadIdx.x == 0) {
        if (losses) losses[row] = (float)((double)M + log(sum) - xt);
        atomicAdd(&sc->ivalue[0], 1);
        atomicAdd(&sc->dvalue[0], (double)M + log(sum) - xt);
    }
    if (grad_scale != 0.0f) {
        const float k = (float)(grad_scale / sum);
        if (CAP) {
            for (int j = threadIdx.x; j < V; j += blockDim.x) {
                float th = tanhf(x[j] * (1.0f / cap));
                float g = expf(cap * th - M) * k;
                x[j] = (j == t ? g - grad_scale : g) * ((1.0f - th) * (1.0f + th));
            }
        } else {
            for (int j = threadIdx.x; j < V; j += blockDim.x) {
                float g = expf(x[j] - M) * k;
                x[j] = j == t ? g - grad_scale : g;
            }
        }
    }
}

int clear_results(Scratch* sc, cudaStream_t s) {
    // the result slots only: a failure recorded by an earlier op stays until it is read
    cudaError_t e = cudaMemsetAsync(&sc->ivalue[0], 0, sizeof(Scratch) - offsetof(Scratch, ivalue), s);
    return e == cudaSuccess ? T4JC_OK : fail(e, "clearing result slots");
}

__global__ void add_results_kernel(const Scratch* sc, double* acc) {
    acc[0] += sc->dvalue[0];
    acc[1] += (double)sc->ivalue[0];
}


// The LM head's blocks of logits. loss_out (host) gets {sum, count} after one synchronisation; otherwise
// they are added to acc_dev on the device and nothing waits.
int lmhead_cross_entropy(double* loss_out, double* acc_dev, float* dh, float* dw, const float* h, const float* w,
                         const int32_t* targets, int M, int d, int V, float softcap, float grad_scale, float* ws,
                         int block_rows, cudaStream_t st) {
    if (M < 0 || d <= 0 || V <= 0 || block_rows <= 0 || !(loss_out || acc_dev)) return T4JC_EINVAL;
    if (!(softcap >= 0.0f) || isinf(softcap)) return T4JC_EINVAL;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    int rc = clear_results(sc, st);
    if (rc) return rc;
    targets_check_kernel<<<blocks_for(M > 0 ? M : 1, 256), 256, 0, st>>>(sc, targets, M, V);
    const bool grad = (dh || dw) && grad_scale != 0.0f;
    for (int r0 = 0; r0 < M && !rc; r0 += block_rows) {
        const int br = M - r0 < block_rows ? M - r0 : block_rows;
        const float* hb = h + (int64_t)r0 * d;
        rc = gemm(false, true, br, V, d, 1.0f, hb, d, w, d, 0.0f, ws, V, st);
        if (rc) break;
        // losses NULL marks scratch logits
        if (softcap > 0.0f)
            ce_kernel<true><<<br, kThreads, 0, st>>>(sc, nullptr, ws, targets + r0, V, grad ? grad_scale : 0.0f, softcap);
        else
            ce_kernel<false><<<br, kThreads, 0, st>>>(sc, nullptr, ws, targets + r0, V, grad ? grad_scale : 0.0f, 0.0f);
        rc = launched("lm-head cross-entropy");
        if (rc || !grad) continue;
        // ignored rows hold zero gradients, so the products need no knowledge of the count
        if (dh) rc = gemm(false, false, br, d, V, 1.0f, ws, V, w, d, 1.0f, dh + (int64_t)r0 * d, d, st);
        if (!rc && dw) rc = gemm(true, false, V, d, br, 1.0f, ws, V, hb, d, 1.0f, dw, d, st);
    }
    if (rc) return rc;
    if (acc_dev) {
        add_results_kernel<<<1, 1, 0, st>>>(sc, acc_dev);
        return launched("lm-head loss sum");
    }
    Scratch hs;
    rc = read_scratch(&hs, st);
    if (rc) return rc;
    loss_out[0] = hs.dvalue[0];
    loss_out[1] = hs.ivalue[0];
    return hs.ivalue[0];
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_cross_entropy(float* losses, float* logits, const int32_t* targets, int M, int V, float grad_scale,
                       void* stream) {
    if (M < 0 || V <= 0) return T4JC_EINVAL;
    if (M == 0) return 0;
    if (M > 0x7fffffff) return T4JC_EINVAL;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    cudaStream_t st = S(stream);
    int rc = clear_results(sc, st);
    if (rc) return rc;
    targets_check_kernel<<<blocks_for(M, 256), 256, 0, st>>>(sc, targets, M, V);
    ce_kernel<false><<<M, kThreads, 0, st>>>(sc, losses, logits, targets, V, grad_scale, 0.0f);
    rc = launched("cross-entropy");
    if (rc) return rc;
    Scratch h;
    rc = read_scratch(&h, st);
    return rc ? rc : h.ivalue[0];
}

int t4jc_lmhead_cross_entropy(double* loss_out, float* dh, float* dw, const float* h, const float* w,
                              const int32_t* targets, int M, int d, int V, float softcap, float grad_scale, float* ws,
                              int block_rows, void* stream) {
    if (!loss_out) return T4JC_EINVAL;
    return lmhead_cross_entropy(loss_out, nullptr, dh, dw, h, w, targets, M, d, V, softcap, grad_scale, ws, block_rows,
                                S(stream));
}

int t4jc_lmhead_cross_entropy_acc(double* acc_dev, float* dh, float* dw, const float* h, const float* w,
                                  const int32_t* targets, int M, int d, int V, float softcap, float grad_scale,
                                  float* ws, int block_rows, void* stream) {
    if (!acc_dev) return T4JC_EINVAL;
    return lmhead_cross_entropy(nullptr, acc_dev, dh, dw, h, w, targets, M, d, V, softcap, grad_scale, ws, block_rows,
                                S(stream));
}

int t4jc_loss_take(double* out_host, double* acc_dev, void* stream) {
    if (!out_host || !acc_dev) return T4JC_EINVAL;
    cudaStream_t st = S(stream);
    cudaError_t e = cudaMemcpyAsync(out_host, acc_dev, 2 * sizeof(double), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess) e = cudaMemsetAsync(acc_dev, 0, 2 * sizeof(double), st);
    if (e != cudaSuccess) return fail(e, "reading the loss sum");
    Scratch hs;
    return read_scratch(&hs, st);  // synchronises: the copy above has landed
}

}  // extern "C"
