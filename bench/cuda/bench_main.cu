// Microbenchmarks of the CUDA kernels, timed with CUDA events on one stream. Memory-bound kernels
// report achieved bandwidth next to a device-to-device copy, the practical ceiling; the fused LoRA
// forward+backward is timed against the unfused sequence (materialised dropout, plain GEMMs, a
// separate mask pass), which is what the fusion is meant to beat.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tune4j_cuda.h"

namespace {

int g_iters = 50;

#define CHECK(call)                                                                              \
    do {                                                                                         \
        int rc_ = (call);                                                                        \
        if (rc_ < 0) {                                                                           \
            std::fprintf(stderr, "%s failed (%d): %s\n", #call, rc_, t4jc_last_error());         \
            std::exit(1);                                                                        \
        }                                                                                        \
    } while (0)

float* dev(int64_t n, float value) {
    float* p = static_cast<float*>(t4jc_malloc(n * 4));
    if (!p) {
        std::fprintf(stderr, "out of device memory (%lld floats)\n", (long long)n);
        std::exit(1);
    }
    CHECK(t4jc_fill(p, value, n, nullptr));
    return p;
}

// Mean milliseconds per run of fn after a warm-up run.
double time_ms(const std::function<void()>& fn) {
    fn();
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    cudaEventRecord(a);
    for (int i = 0; i < g_iters; i++) fn();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return ms / g_iters;
}

void report_bw(const std::string& name, double ms, double bytes, double ceiling_gbs) {
    double gbs = bytes / (ms * 1e-3) / 1e9;
    std::printf("%-34s %9.4f ms %9.1f GB/s  %5.1f%% of copy\n", name.c_str(), ms, gbs,
                ceiling_gbs > 0 ? 100.0 * gbs / ceiling_gbs : 100.0);
}

__global__ void dropout_kernel(float* out, const float* x, int64_t n, uint64_t key, uint64_t threshold, float inv_keep) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        uint64_t z = key + static_cast<uint64_t>(e + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        out[e] = (z >> 40) >= threshold ? x[e] * inv_keep : 0.0f;
    }
}

void bench_lora(int M, int K, int N, int r, float p) {
    float *x = dev((int64_t)M * K, 0.01f), *w = dev((int64_t)N * K, 0.01f), *a = dev((int64_t)r * K, 0.01f),
          *b = dev((int64_t)N * r, 0.01f), *y = dev((int64_t)M * N, 0), *t = dev((int64_t)M * r, 0),
          *dy = dev((int64_t)M * N, 0.01f), *dx = dev((int64_t)M * K, 0), *da = dev((int64_t)r * K, 0),
          *db = dev((int64_t)N * r, 0), *ws = dev(t4jc_lora_ws_floats(M, K, N, r, p), 0),
          *xd = dev((int64_t)M * K, 0), *buf = dev((int64_t)M * K, 0);
    const uint64_t seed = 7;
    // frozen base weight: no dW, as in LoRA training
    double fused = time_ms([&] {
        CHECK(t4jc_lora_fwd(y, t, x, w, nullptr, a, b, M, K, N, r, 2.0f, p, seed, ws, nullptr));
        CHECK(t4jc_lora_bwd(dx, nullptr, nullptr, da, db, dy, x, t, w, a, b, M, K, N, r, 2.0f, p, seed, ws, nullptr));
    });
    const int64_t n = (int64_t)M * K;
    double unfused = time_ms([&] {
        CHECK(t4jc_linear_fwd(y, x, w, nullptr, M, K, N, nullptr));
        dropout_kernel<<<1024, 256>>>(xd, x, n, 1234, (uint64_t)(p * 16777216.0), 1.0f / (1.0f - p));
        CHECK(t4jc_gemm(0, 1, M, r, K, 1.0f, xd, K, a, K, 0.0f, t, r, nullptr));
        CHECK(t4jc_gemm(0, 1, M, N, r, 2.0f, t, r, b, r, 1.0f, y, N, nullptr));
        CHECK(t4jc_linear_bwd(dx, nullptr, nullptr, dy, x, w, M, K, N, nullptr));
        CHECK(t4jc_gemm(1, 0, N, r, M, 2.0f, dy, N, t, r, 1.0f, db, r, nullptr));
        CHECK(t4jc_gemm(0, 0, M, r, N, 2.0f, dy, N, b, r, 0.0f, ws, r, nullptr));
        dropout_kernel<<<1024, 256>>>(xd, x, n, 1234, (uint64_t)(p * 16777216.0), 1.0f / (1.0f - p));
        CHECK(t4jc_gemm(1, 0, r, K, M, 1.0f, ws, r, xd, K, 1.0f, da, K, nullptr));
        CHECK(t4jc_gemm(0, 0, M, K, r, 1.0f, ws, r, a, K, 0.0f, buf, K, nullptr));
        dropout_kernel<<<1024, 256>>>(buf, buf, n, 1234, (uint64_t)(p * 16777216.0), 1.0f / (1.0f - p));
        CHECK(t4jc_axpy(dx, 1.0f, buf, n, nullptr));
    });
    std::printf("lora fwd+bwd M=%d K=%d N=%d r=%d p=%.2f: fused %.4f ms, unfused %.4f ms (%.2fx)\n", M, K, N, r, p,
                fused, unfused, unfused / fused);
    for (float* q : {x, w, a, b, y, t, dy, dx, da, db, ws, xd, buf}) t4jc_free(q);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) g_iters = std::atoi(argv[1]);
    int ndev = t4jc_device_count();
    if (ndev == 0) {
        std::printf("no CUDA device: %s\n", t4jc_last_error());
        return 0;
    }
    char name[256];
    int64_t mem = 0;
    int major = 0, minor = 0, sms = 0;
    CHECK(t4jc_device_info(0, name, sizeof name, &mem, &major, &minor, &sms));
    std::printf("device: %s (sm_%d%d, %d SMs, %.1f GiB), %d iterations\n", name, major, minor, sms, mem / 1073741824.0,
                g_iters);

    const int64_t n = 64ll << 20;  // 64 Mi floats = 256 MiB per buffer: far beyond L2
    float *a = dev(n, 1.0f), *b = dev(n, 2.0f), *c = dev(n, 0.0f), *d = dev(n, 0.0f);
    double copy = time_ms([&] { CHECK(t4jc_copy(c, a, n * 4, nullptr)); });
    double ceiling = 2.0 * n * 4 / (copy * 1e-3) / 1e9;
    report_bw("d2d copy (ceiling)", copy, 2.0 * n * 4, 0);
    report_bw("add", time_ms([&] { CHECK(t4jc_add(c, a, b, n, nullptr)); }), 3.0 * n * 4, ceiling);
    report_bw("axpy", time_ms([&] { CHECK(t4jc_axpy(c, 0.5f, a, n, nullptr)); }), 3.0 * n * 4, ceiling);
    report_bw("swiglu fwd", time_ms([&] { CHECK(t4jc_swiglu_fwd(c, a, b, n, nullptr)); }), 3.0 * n * 4, ceiling);
    report_bw("swiglu bwd", time_ms([&] { CHECK(t4jc_swiglu_bwd(c, d, a, b, a, n, nullptr)); }), 7.0 * n * 4, ceiling);
    {
        const int dim = 4096, M = (int)(n / dim);
        float* rstd = dev(M, 0);
        report_bw("rmsnorm fwd d=4096", time_ms([&] { CHECK(t4jc_rmsnorm_fwd(c, rstd, a, b, M, dim, 1e-5f, 0.0f, nullptr)); }),
                  2.0 * n * 4, ceiling);
        report_bw("rmsnorm bwd d=4096 (dx,dw)",
                  time_ms([&] { CHECK(t4jc_rmsnorm_bwd(d, c, a, b, b, rstd, M, dim, 0.0f, nullptr)); }), 4.0 * n * 4, ceiling);
        report_bw("add+rmsnorm fwd d=4096",
                  time_ms([&] { CHECK(t4jc_add_rmsnorm_fwd(c, d, rstd, a, b, b, M, dim, 1e-5f, nullptr)); }),
                  4.0 * n * 4, ceiling);
        t4jc_free(rstd);
    }
    {
        const int64_t q = n / 4;  // AdamW touches 4 buffers of q floats, 7 transfers each
        report_bw("adamw", time_ms([&] { CHECK(t4jc_adamw(a, b, c, d, q, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f, 3, nullptr)); }),
                  7.0 * q * 4, ceiling);
    }
    {
        const int V = 128256, M = 256;
        std::vector<int32_t> tg(M);
        for (int i = 0; i < M; i++) tg[i] = (i * 7919) % V;
        int32_t* targets = static_cast<int32_t*>(t4jc_malloc(M * 4));
        CHECK(t4jc_upload(targets, tg.data(), M * 4, nullptr));
        report_bw("cross-entropy V=128256 M=256",
                  time_ms([&] { CHECK(t4jc_cross_entropy(nullptr, c, targets, M, V, 1.0f, nullptr)); }),
                  3.0 * M * (double)V * 4, ceiling);
        t4jc_free(targets);
    }
    {
        const int M = 4096, dim = 4096, V = 32000;
        std::vector<int32_t> ids(M);
        for (int i = 0; i < M; i++) ids[i] = (i * 31) % V;
        int32_t* di = static_cast<int32_t*>(t4jc_malloc(M * 4));
        CHECK(t4jc_upload(di, ids.data(), M * 4, nullptr));
        report_bw("embedding fwd d=4096", time_ms([&] { CHECK(t4jc_embedding_fwd(c, di, a, M, V, dim, nullptr)); }),
                  2.0 * M * dim * 4, ceiling);
        t4jc_free(di);
    }
    {
        const int M = 4096, K = 4096, N = 4096;
        double ms = time_ms([&] { CHECK(t4jc_gemm(0, 1, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N, nullptr)); });
        std::printf("%-34s %9.4f ms %9.1f TFLOP/s\n", "sgemm 4096^3 (NT)", ms, 2.0 * M * N * K / (ms * 1e-3) / 1e12);
    }
    for (float* p : {a, b, c, d}) t4jc_free(p);
    bench_lora(4096, 4096, 4096, 16, 0.1f);
    bench_lora(4096, 4096, 4096, 64, 0.0f);
    return 0;
}
