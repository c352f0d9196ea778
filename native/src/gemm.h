// Every fp32 matrix product of the CPU ops goes through here. Under the default precision these
// are OpenBLAS sgemm calls; under bf16 precision (t4j_set_matmul_precision) products large enough
// to pay for converting their operands run on the AMX tile units: inputs rounded to bf16, products
// summed in fp32 — what mixed-precision training does on GPUs.
#pragma once

#include <cstdint>

namespace t4j {

// C[M,N] = alpha * op(A)[M,K] . op(B)[K,N] + beta * C, row-major, cblas_sgemm's meaning.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc);

// fp32 OpenBLAS sgemm on the calling thread whatever the precision: for products inside an OpenMP
// region, whose worker threads do not share the caller's precision setting.
void sgemm_serial(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc);

// One B multiplied by many A blocks (a vocabulary-sized LM head over row blocks): converting B
// once instead of per block is what makes the bf16 path pay off there.
class GemmB {
  public:
    // rows: how many rows of A the products will mostly have (decides whether converting B pays)
    GemmB(bool trans_b, int K, int N, const float* B, int ldb, int rows);
    ~GemmB();
    GemmB(const GemmB&) = delete;
    GemmB& operator=(const GemmB&) = delete;

    void multiply(bool trans_a, int M, float alpha, const float* A, int lda, float beta, float* C, int ldc) const;

  private:
    bool trans_b_;
    int K_, N_, ldb_;
    const float* B_;
    uint16_t* packed_ = nullptr;  // bf16 tiles, when this product runs on AMX (the thread's scratch)
    int slot_ = -1;
};

// Memory owned by the calling thread that only grows (an inference scheduler and a training job
// may multiply at the same time), so steady-state steps allocate nothing.
struct Scratch {
    void* p = nullptr;
    int64_t bytes = 0;
    Scratch() = default;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch();
    void* get(int64_t n);  // null when out of memory
};

// One term of a product joined along K: scale * op(A)[M,K] . op(B)[K,N].
struct KPart {
    bool trans_a;
    const float* A;
    int lda;
    bool trans_b;
    const float* B;
    int ldb;
    int K;
    float scale;  // applied to B, which must then be small (a LoRA B matrix)
};
constexpr int kMaxParts = 4;

namespace amx {
// True when bf16 products can run: AMX tiles (the CPU has AMX-BF16 and the kernel granted this
// process the tile state) or, slower, AVX512-BF16 vector instructions.
bool available();
// Whether they run on the tiles (else on AVX512-BF16).
bool has_tiles();
// Whether a product of this shape is worth converting to bf16 tiles.
bool worth_it(int M, int N, int K);
// bf16 element count of op(B) [K,N] in tile layout
int64_t packed_b_elems(int K, int N);
void pack_b(uint16_t* dst, bool trans_b, int K, int N, const float* B, int ldb);
// false when its scratch could not be allocated (nothing was written)
bool gemm_packed_b(bool trans_a, int M, int N, int K, float alpha, const float* A, int lda, const uint16_t* Bp,
                   float beta, float* C, int ldc);
bool gemm_joined(int M, int N, const KPart* parts, int n, float alpha, float beta, float* C, int ldc);
// y[M,N] = bf16(x[M,K]) . packed B for one or two rows: streams B once, fp32 sums
bool gemv_packed_b(int M, const float* x, int ldx, int K, int N, const uint16_t* Bp, float* y, int ldy);
}  // namespace amx

// C = alpha * sum of the parts + beta * C as a single bf16 product over the joined K: a LoRA layer's
// base and low-rank terms share one conversion and one pass over C. False (nothing written) unless
// bf16 products are active and worth it at this size; the caller then multiplies part by part.
bool gemm_joined(int M, int N, const KPart* parts, int n, float alpha, float beta, float* C, int ldc);

namespace skinny {
// Up to this many rows a product y += x . w^T reads w in place (gemm_skinny.cpp) instead of sgemm.
constexpr int kMaxRows = 64;  // a server batch (--max-batch 64)
// y[M,N] += x[M,K] . w[N,K]^T, fp32, for a few rows of x: w streams once per call, nothing is packed
void gemm_nt(int M, int N, int K, const float* x, int ldx, const float* w, int ldw, float* y, int ldy);
// the same over bf16 w [N,K] row-major, widened to fp32 in registers: for CPUs without bf16 products
void gemm_nt_bf16w(int M, int N, int K, const float* x, int ldx, const uint16_t* w, int ldw, float* y, int ldy);
}  // namespace skinny

// y[i,:] += b for each of M rows: a bias after a product that could not take it through beta
void add_rows(float* y, const float* b, int M, int N);

// 1 while bf16 products are selected and this CPU can run them.
bool bf16_matmul_active();

}  // namespace t4j
