// Token embedding: a row gather forward, a scatter-add backward.
#include "tune4j.h"

#include <cstring>

namespace {

// Every id is checked before anything is written, so a bad batch leaves the outputs untouched.
bool ids_in_range(const int32_t* ids, int M, int V) {
    int bad = 0;
#pragma omp parallel for simd reduction(| : bad) schedule(static) if (M > 65536)
    for (int i = 0; i < M; i++) bad |= (ids[i] < 0) | (ids[i] >= V);
    return bad == 0;
}

}  // namespace

int t4j_embedding_fwd(float* out, const int32_t* ids, const float* table, int M, int V, int d) {
    if (M < 0 || V < 0 || d < 0) return T4J_EINVAL;
    if (!ids_in_range(ids, M, V)) return T4J_ERANGE;
    const size_t row = static_cast<size_t>(d) * sizeof(float);
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(M) * d > 65536)
    for (int i = 0; i < M; i++)
        std::memcpy(out + static_cast<int64_t>(i) * d, table + static_cast<int64_t>(ids[i]) * d, row);
    return T4J_OK;
}

int t4j_embedding_bwd(float* dtable, const float* dout, const int32_t* ids, int M, int V, int d) {
    if (M < 0 || V < 0 || d < 0) return T4J_EINVAL;
    if (!ids_in_range(ids, M, V)) return T4J_ERANGE;
    // Repeated ids make a row-parallel scatter race. Threads instead own disjoint column blocks and
    // each walks every row in order: race-free, and the sum order is fixed whatever the thread count.
    constexpr int kBlock = 64;
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(M) * d > 65536)
    for (int j0 = 0; j0 < d; j0 += kBlock) {
        const int j1 = j0 + kBlock < d ? j0 + kBlock : d;
        for (int i = 0; i < M; i++) {
            const float* src = dout + static_cast<int64_t>(i) * d;
            float* dst = dtable + static_cast<int64_t>(ids[i]) * d;
#pragma omp simd
            for (int j = j0; j < j1; j++) dst[j] += src[j];
        }
    }
    return T4J_OK;
}
