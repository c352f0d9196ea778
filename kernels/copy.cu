// Column-block copy between row-major device matrices, the semantics of native/src/copy.cpp: one
// cudaMemcpy2DAsync on the caller's stream (rows of cols floats, each matrix's pitch its width), which
// the driver runs as a strided copy without a kernel of ours. Asynchronous, like t4jc_copy.
#include "common.cuh"

using namespace t4jc;

extern "C" {

int t4jc_copy_columns(float* dst, int64_t dst_width, int64_t dst_col, const float* src, int64_t src_width,
                      int64_t src_col, int64_t rows, int64_t cols, void* stream) {
    if (rows < 0 || cols < 0 || dst_col < 0 || src_col < 0 || dst_width < 0 || src_width < 0) return T4JC_EINVAL;
    if (dst_col + cols > dst_width || src_col + cols > src_width) return T4JC_EINVAL;
    if (rows == 0 || cols == 0) return T4JC_OK;
    cudaError_t e = cudaMemcpy2DAsync(dst + dst_col, static_cast<size_t>(dst_width) * sizeof(float), src + src_col,
                                      static_cast<size_t>(src_width) * sizeof(float),
                                      static_cast<size_t>(cols) * sizeof(float), static_cast<size_t>(rows),
                                      cudaMemcpyDeviceToDevice, S(stream));
    return e == cudaSuccess ? T4JC_OK : fail(e, "copy columns");
}

}  // extern "C"
