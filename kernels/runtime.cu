// Device management, memory, streams and the per-process status/result block. cudart is linked
// statically, so without a driver every entry point here fails softly instead of the library
// failing to load.
#include "common.cuh"

#include <cstdio>
#include <cstring>
#include <mutex>

namespace t4jc {

namespace {
thread_local char g_error[256] = "no error";
Scratch* g_scratch = nullptr;
std::mutex g_scratch_lock;
int g_failed_check = 0;  // the check of the last failure read_scratch found; the backend is single-threaded
}  // namespace

int fail(cudaError_t e, const char* what) {
    std::snprintf(g_error, sizeof g_error, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    cudaGetLastError();  // clear a sticky-free error so the next call starts clean
    return T4JC_ECUDA;
}

Scratch* scratch() {
    std::lock_guard<std::mutex> lock(g_scratch_lock);
    if (!g_scratch) {
        void* p = nullptr;
        cudaError_t e = cudaMalloc(&p, sizeof(Scratch));
        if (e != cudaSuccess) {
            fail(e, "allocating the status block");
            return nullptr;
        }
        cudaMemset(p, 0, sizeof(Scratch));
        g_scratch = static_cast<Scratch*>(p);
    }
    return g_scratch;
}

int read_scratch(Scratch* host, cudaStream_t s) {
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    cudaError_t e = cudaMemcpyAsync(host, sc, sizeof(Scratch), cudaMemcpyDeviceToHost, s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    if (e != cudaSuccess) return fail(e, "reading the status block");
    if (host->status != 0) {
        g_failed_check = host->check;
        e = cudaMemsetAsync(&sc->status, 0, 2 * sizeof(int), s);
        if (e == cudaSuccess) e = cudaStreamSynchronize(s);
        if (e != cudaSuccess) return fail(e, "clearing the status word");
    }
    return host->status;
}

namespace {

__global__ void fill_kernel(float* x, float v, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] = v;
}

__global__ void bf16_to_f32_kernel(float* dst, const uint16_t* src, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = bf2f(src[i]);
}

__global__ void f32_to_bf16_kernel(uint16_t* dst, const float* src, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = f2bf(src[i]);
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_device_count(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        fail(e, "cudaGetDeviceCount");
        return 0;
    }
    return n;
}

const char* t4jc_last_error(void) { return g_error; }

int t4jc_device_info(int dev, char* name, int name_len, int64_t* total_bytes, int* cc_major, int* cc_minor,
                     int* sm_count) {
    cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, dev);
    if (e != cudaSuccess) return fail(e, "cudaGetDeviceProperties");
    if (name && name_len > 0) {
        std::strncpy(name, p.name, static_cast<size_t>(name_len) - 1);
        name[name_len - 1] = '\0';
    }
    if (total_bytes) *total_bytes = static_cast<int64_t>(p.totalGlobalMem);
    if (cc_major) *cc_major = p.major;
    if (cc_minor) *cc_minor = p.minor;
    if (sm_count) *sm_count = p.multiProcessorCount;
    return T4JC_OK;
}

int t4jc_set_device(int dev) {
    cudaError_t e = cudaSetDevice(dev);
    return e == cudaSuccess ? T4JC_OK : fail(e, "cudaSetDevice");
}

void* t4jc_malloc(int64_t bytes) {
    if (bytes < 0) return nullptr;
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes > 0 ? static_cast<size_t>(bytes) : 1);
    if (e != cudaSuccess) {
        fail(e, "cudaMalloc");
        return nullptr;
    }
    return p;
}

int t4jc_free(void* p) {
    if (!p) return T4JC_OK;
    cudaError_t e = cudaFree(p);
    return e == cudaSuccess ? T4JC_OK : fail(e, "cudaFree");
}

int t4jc_upload(void* dst, const void* src, int64_t bytes, void* stream) {
    if (bytes < 0) return T4JC_EINVAL;
    if (bytes == 0) return T4JC_OK;
    cudaError_t e = cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice, S(stream));
    if (e == cudaSuccess) e = cudaStreamSynchronize(S(stream));
    return e == cudaSuccess ? T4JC_OK : fail(e, "upload");
}

int t4jc_download(void* dst, const void* src, int64_t bytes, void* stream) {
    if (bytes < 0) return T4JC_EINVAL;
    if (bytes == 0) return T4JC_OK;
    cudaError_t e = cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost, S(stream));
    if (e == cudaSuccess) e = cudaStreamSynchronize(S(stream));
    return e == cudaSuccess ? T4JC_OK : fail(e, "download");
}

int t4jc_copy(void* dst, const void* src, int64_t bytes, void* stream) {
    if (bytes < 0) return T4JC_EINVAL;
    if (bytes == 0 || dst == src) return T4JC_OK;
    cudaError_t e = cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice, S(stream));
    return e == cudaSuccess ? T4JC_OK : fail(e, "device copy");
}

int t4jc_memset(void* p, int value, int64_t bytes, void* stream) {
    if (bytes < 0) return T4JC_EINVAL;
    if (bytes == 0) return T4JC_OK;
    cudaError_t e = cudaMemsetAsync(p, value, static_cast<size_t>(bytes), S(stream));
    return e == cudaSuccess ? T4JC_OK : fail(e, "memset");
}

int t4jc_fill(float* x, float value, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    fill_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(x, value, n);
    return launched("fill");
}

int t4jc_stream_create(void** out) {
    cudaStream_t s;
    cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    if (e != cudaSuccess) return fail(e, "cudaStreamCreate");
    *out = s;
    return T4JC_OK;
}

int t4jc_stream_destroy(void* stream) {
    if (!stream) return T4JC_OK;
    cudaError_t e = cudaStreamDestroy(S(stream));
    return e == cudaSuccess ? T4JC_OK : fail(e, "cudaStreamDestroy");
}

int t4jc_stream_sync(void* stream) {
    cudaError_t e = cudaStreamSynchronize(S(stream));
    return e == cudaSuccess ? T4JC_OK : fail(e, "cudaStreamSynchronize");
}

int t4jc_take_status(void* stream) {
    Scratch h;
    return read_scratch(&h, S(stream));
}

int t4jc_take_failed_check(void) {
    int c = g_failed_check;
    g_failed_check = 0;
    return c;
}

int t4jc_bf16_to_f32(float* dst, const uint16_t* src, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    bf16_to_f32_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(dst, src, n);
    return launched("bf16_to_f32");
}

int t4jc_f32_to_bf16(uint16_t* dst, const float* src, int64_t n, void* stream) {
    if (n < 0) return T4JC_EINVAL;
    if (n == 0) return T4JC_OK;
    f32_to_bf16_kernel<<<blocks_for(n, 256), 256, 0, S(stream)>>>(dst, src, n);
    return launched("f32_to_bf16");
}

}  // extern "C"
