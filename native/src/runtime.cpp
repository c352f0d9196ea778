// Memory, file mapping, threading and dtype conversion: the plumbing every op relies on.
#include "tune4j.h"

#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <omp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void* t4j_alloc(int64_t bytes) {
    if (bytes <= 0) bytes = 64;
    // aligned_alloc needs a size that is a multiple of the alignment
    size_t rounded = (static_cast<size_t>(bytes) + 63) & ~static_cast<size_t>(63);
    return std::aligned_alloc(64, rounded);
}

void t4j_free(void* p) { std::free(p); }

void t4j_fill(float* x, float value, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) x[i] = value;
}

void t4j_copy(float* dst, const float* src, int64_t n) {
    std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void* t4j_mmap(const char* path, int64_t* size_out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        return nullptr;
    }
    // MAP_PRIVATE: full fine-tuning may write into weights that were mapped; the file stays untouched.
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return nullptr;
    if (size_out) size_out[0] = st.st_size;
    return p;
}

void t4j_munmap(void* p, int64_t size) {
    if (p) munmap(p, static_cast<size_t>(size));
}

void t4j_set_num_threads(int n) {
    if (n < 1) n = 1;
    // OpenBLAS stays single-threaded: the OpenMP team splits its products (gemm.cpp)
    omp_set_num_threads(n);
}

int t4j_get_num_threads(void) { return omp_get_max_threads(); }

extern "C" void openblas_set_num_threads(int);

void t4j_set_shared_blas_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

static inline float half_to_float(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                exp--;
            }
            mant &= 0x3ffu;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t float_to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    int32_t exp = static_cast<int32_t>((x >> 23) & 0xffu) - 127 + 15;
    uint32_t mant = x & 0x7fffffu;
    if (((x >> 23) & 0xffu) == 0xffu) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
    if (exp >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
    if (exp <= 0) {
        if (exp < -10) return static_cast<uint16_t>(sign);
        mant |= 0x800000u;
        uint32_t shift = static_cast<uint32_t>(14 - exp);
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return static_cast<uint16_t>(sign | half);
    }
    uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) half++;  // round to nearest even; may carry into exp
    return static_cast<uint16_t>(half);
}

void t4j_f16_to_f32(float* dst, const uint16_t* src, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dst[i] = half_to_float(src[i]);
}

void t4j_bf16_to_f32(float* dst, const uint16_t* src, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
        std::memcpy(&dst[i], &bits, 4);
    }
}

void t4j_f32_to_bf16(uint16_t* dst, const float* src, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        uint32_t x;
        std::memcpy(&x, &src[i], 4);
        if ((x & 0x7fffffffu) > 0x7f800000u) {
            dst[i] = static_cast<uint16_t>((x >> 16) | 0x40u);  // keep NaN a NaN
        } else {
            x += 0x7fffu + ((x >> 16) & 1u);  // round to nearest even
            dst[i] = static_cast<uint16_t>(x >> 16);
        }
    }
}

void t4j_f32_to_f16(uint16_t* dst, const float* src, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dst[i] = float_to_half(src[i]);
}
