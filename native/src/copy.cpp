// Column-block copy between row-major matrices: splitting a fused projection's output ([M, q+2kv] of
// Phi-3's qkv_proj, [M, 2f] of gate_up_proj) into contiguous buffers, and concatenating the gradients back.
#include "tune4j.h"

#include <cstring>

int t4j_copy_columns(float* dst, int64_t dst_width, int64_t dst_col, const float* src, int64_t src_width,
                     int64_t src_col, int64_t rows, int64_t cols) {
    if (rows < 0 || cols < 0 || dst_col < 0 || src_col < 0 || dst_width < 0 || src_width < 0) return T4J_EINVAL;
    if (dst_col + cols > dst_width || src_col + cols > src_width) return T4J_EINVAL;
    if (rows == 0 || cols == 0) return T4J_OK;
    const size_t row = static_cast<size_t>(cols) * sizeof(float);
    // memory-bound like embedding.cpp's gather: threads only for copies large enough to repay the wake-up
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
    for (int64_t r = 0; r < rows; r++)
        std::memcpy(dst + r * dst_width + dst_col, src + r * src_width + src_col, row);
    return T4J_OK;
}
