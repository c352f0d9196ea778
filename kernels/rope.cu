// Rotate-half RoPE, the CPU's table and rotation (native/src/rope.cpp). The table is built in double
// on the device, as on the CPU, so both backends agree on late positions.
#include "common.cuh"

namespace t4jc {
namespace {

__global__ void rope_table_kernel(float* cos_t, float* sin_t, int max_pos, int hd, float theta, int scaling,
                                  float factor, float lo_f, float hi_f, int orig_max) {
    const int half = hd / 2;
    int64_t n = (int64_t)max_pos * half;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int i = (int)(e % half);
        int64_t p = e / half;
        double inv = pow((double)theta, -2.0 * i / hd);
        if (scaling == 1) {  // llama3
            const double two_pi = 6.283185307179586476925;
            double wavelen = two_pi / inv, orig = (double)orig_max;
            if (wavelen > orig / lo_f) {
                inv = inv / factor;
            } else if (!(wavelen < orig / hi_f)) {
                double smooth = (orig / wavelen - lo_f) / ((double)hi_f - lo_f);
                inv = (1.0 - smooth) * inv / factor + smooth * inv;
            }
        } else if (scaling == 2) {
            inv = inv / factor;
        }
        double a = (double)p * inv;
        cos_t[e] = (float)cos(a);
        sin_t[e] = (float)sin(a);
    }
}

__global__ void rope_check_kernel(Scratch* sc, const int32_t* pos, int M, int max_pos) {
    for (int m = blockIdx.x * blockDim.x + threadIdx.x; m < M; m += gridDim.x * blockDim.x)
        if (pos[m] < 0 || pos[m] >= max_pos) report(sc, T4JC_ERANGE, T4JC_CHECK_ROPE);
}

// One thread per (row, head, pair i).
__global__ void rope_kernel(const Scratch* sc, float* x, const int32_t* pos, const float* cos_t, const float* sin_t,
                            int M, int nh, int hd, float sign) {
    if (failed(sc)) return;
    const int half = hd / 2;
    int64_t n = (int64_t)M * nh * half;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int i = (int)(e % half);
        int64_t mh = e / half;
        int m = (int)(mh / nh);
        int64_t tab = (int64_t)pos[m] * half + i;
        float c = cos_t[tab], s = sign * sin_t[tab];
        float* x1 = x + mh * hd + i;
        float a = x1[0], b = x1[half];
        x1[0] = a * c - b * s;
        x1[half] = b * c + a * s;
    }
}

int rope(float* x, const int32_t* pos, const float* c, const float* s, int M, int nh, int hd, int max_pos, float sign,
         cudaStream_t st) {
    if (M < 0 || hd <= 0 || (hd & 1) || nh < 0) return T4JC_EINVAL;
    if (M == 0 || nh == 0) return T4JC_OK;
    Scratch* sc = scratch();
    if (!sc) return T4JC_ENODEV;
    rope_check_kernel<<<blocks_for(M, 256), 256, 0, st>>>(sc, pos, M, max_pos);
    rope_kernel<<<blocks_for((int64_t)M * nh * (hd / 2), 256), 256, 0, st>>>(sc, x, pos, c, s, M, nh, hd, sign);
    return launched("rope");
}

}  // namespace
}  // namespace t4jc

using namespace t4jc;

extern "C" {

int t4jc_rope_table(float* cos, float* sin, int max_pos, int hd, float theta, int scaling, float factor,
                    float low_freq_factor, float high_freq_factor, int original_max_pos, void* stream) {
    if (max_pos < 0 || hd <= 0 || (hd & 1)) return T4JC_EINVAL;
    if (max_pos == 0) return T4JC_OK;
    rope_table_kernel<<<blocks_for((int64_t)max_pos * (hd / 2), 256), 256, 0, S(stream)>>>(
        cos, sin, max_pos, hd, theta, scaling, factor, low_freq_factor, high_freq_factor, original_max_pos);
    return launched("rope table");
}

int t4jc_rope_fwd(float* x, const int32_t* pos, const float* cos, const float* sin, int M, int nh, int hd, int max_pos,
                  void* stream) {
    return rope(x, pos, cos, sin, M, nh, hd, max_pos, 1.0f, S(stream));
}

// Orthogonal rotation: the gradient is rotated back in place (transforms, does not accumulate; as the CPU op).
int t4jc_rope_bwd(float* dx, const int32_t* pos, const float* cos, const float* sin, int M, int nh, int hd,
                  int max_pos, void* stream) {
    return rope(dx, pos, cos, sin, M, nh, hd, max_pos, -1.0f, S(stream));
}

}  // extern "C"
