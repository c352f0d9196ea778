// Residual-stream arithmetic. Elementwise and index-aligned, so y may alias an input.
#include "tune4j.h"

void t4j_add(float* y, const float* a, const float* b, int64_t n) {
    // no restrict: y == a or y == b is allowed, and each element is read before it is written
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void t4j_axpy(float* y, float alpha, const float* x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}
