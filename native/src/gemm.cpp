// Matrix-product dispatch: OpenBLAS sgemm in fp32, or the AMX bf16 kernels (gemm_amx.cpp) when
// bf16 precision is selected, the CPU has them and the shape is worth the conversion.
#include "gemm.h"

#include <cblas.h>
#include <cpuid.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <sys/syscall.h>
#include <unistd.h>

#include "tune4j.h"

namespace t4j {
namespace {
// Per calling thread: a training job may run bf16 while the server's scheduler thread decodes in
// fp32. The choice is made before any OpenMP region, so worker threads never read it.
thread_local int g_precision = T4J_PRECISION_FP32;
}

namespace amx {
namespace {
enum Unit { kNone, kVector, kTiles };

bool env_off(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && *v != '0';
}

Unit detect() {
    if (env_off("TUNE4J_NO_BF16")) return kNone;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return kNone;
    const bool avx512 = (b >> 16 & 1) && (b >> 30 & 1) && (b >> 31 & 1);  // F, BW, VL
    const bool tiles = (d >> 22 & 1) && (d >> 24 & 1);                      // AMX-BF16, AMX-TILE
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return kNone;
    const bool bf16 = a >> 5 & 1;  // AVX512-BF16: the conversions, and VDPBF16PS without tiles
    if (!(avx512 && bf16)) return kNone;
    // Linux hands out the 8 KiB tile state only on request (ARCH_REQ_XCOMP_PERM, XTILEDATA)
    if (tiles && !env_off("TUNE4J_NO_AMX") && syscall(SYS_arch_prctl, 0x1023, 18) == 0) return kTiles;
    return kVector;
}

Unit unit() {
    static const Unit u = detect();
    return u;
}
}  // namespace

bool available() { return unit() != kNone; }

bool has_tiles() { return unit() == kTiles; }

bool worth_it(int M, int N, int K) {
    // Below this the bf16 conversion of both operands costs more than the tiles save. LoRA's rank-16
    // products pass: left to OpenBLAS, its spinning threads would take the cores from the tiles' threads.
    return M >= 16 && N >= 16 && K >= 16 && static_cast<int64_t>(M) * N * K >= (int64_t{1} << 18) && available();
}
}  // namespace amx

bool bf16_matmul_active() { return g_precision == T4J_PRECISION_BF16; }

namespace {
// OpenBLAS runs single-threaded and our OpenMP team splits its products instead: with two thread
// pools, one pool's waiting threads spin on the cores the other needs (an OpenMP kernel right after
// an OpenBLAS GEMM ran slower than either alone). Each thread multiplies its own block of C's rows
// (or columns, when there are few rows); at 1024x576x576 that is as fast as OpenBLAS's own threads.
// The setting is OpenBLAS's global one: a library sharing this OpenBLAS in the process (libtorch's
// has the same soname) sets its own count with t4j_set_shared_blas_threads (bench/Libtorch.setThreads).
struct SingleThreadedBlas {
    SingleThreadedBlas() { openblas_set_num_threads(1); }
};
const SingleThreadedBlas g_single_threaded_blas;

// One thread's sgemm. For beta = 0 on large products C is zeroed here and the product added
// (beta = 1): measured 4-6% faster than OpenBLAS's own beta = 0 at the training shapes (Zen 4).
void sgemm_1(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float* A, int lda,
             const float* B, int ldb, float beta, float* C, int ldc) {
    if (beta == 0.0f && K > 0 && static_cast<int64_t>(M) * N * K >= (int64_t{1} << 19)) {
        for (int i = 0; i < M; i++) std::fill(C + static_cast<int64_t>(i) * ldc, C + static_cast<int64_t>(i) * ldc + N, 0.0f);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_team(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                int ldb, float beta, float* C, int ldc) {
    const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
    const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    // below ~1 MFLOP a thread the fork costs more than it saves
    if (threads <= 1 || static_cast<int64_t>(M) * N * K < (int64_t{1} << 19) * threads) {
        sgemm_1(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    const bool by_rows = M >= 16 * threads || M >= N;
#pragma omp parallel num_threads(threads)
    {
        const int nt = omp_get_num_threads(), id = omp_get_thread_num();
        const int len = by_rows ? M : N;
        const int b0 = static_cast<int>(static_cast<int64_t>(len) * id / nt);
        const int b1 = static_cast<int>(static_cast<int64_t>(len) * (id + 1) / nt);
        if (b1 > b0) {
            if (by_rows) {
                // rows b0..b1 of op(A): rows of A, or columns of A when it is transposed
                const float* a = A + (trans_a ? b0 : static_cast<int64_t>(b0) * lda);
                sgemm_1(ta, tb, b1 - b0, N, K, alpha, a, lda, B, ldb, beta, C + static_cast<int64_t>(b0) * ldc, ldc);
            } else {
                // columns b0..b1 of op(B): columns of B, or rows of B when it is transposed
                const float* b = B + (trans_b ? static_cast<int64_t>(b0) * ldb : b0);
                sgemm_1(ta, tb, M, b1 - b0, K, alpha, A, lda, b, ldb, beta, C + b0, ldc);
            }
        }
    }
}
}  // namespace

void sgemm_serial(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc) {
    if (M <= 0 || N <= 0) return;
    sgemm_1(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb,
            beta, C, ldc);
}

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (bf16_matmul_active() && amx::worth_it(M, N, K)) {
        GemmB b(trans_b, K, N, B, ldb, M);
        b.multiply(trans_a, M, alpha, A, lda, beta, C, ldc);
        return;
    }
    if (!trans_a && trans_b && alpha == 1.0f && M <= skinny::kMaxRows && K > 0) {
        // decoding's few rows against a weight matrix: sgemm would pack all of B first
        if (beta != 1.0f) {
            for (int i = 0; i < M; i++) {
                float* ci = C + static_cast<int64_t>(i) * ldc;
                if (beta == 0.0f) {
                    std::fill(ci, ci + N, 0.0f);
                } else {
                    for (int j = 0; j < N; j++) ci[j] *= beta;
                }
            }
        }
        skinny::gemm_nt(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
    sgemm_team(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

bool gemm_joined(int M, int N, const KPart* parts, int n, float alpha, float beta, float* C, int ldc) {
    int K = 0;
    for (int i = 0; i < n; i++) K += parts[i].K;
    if (M <= 0 || N <= 0 || !bf16_matmul_active() || !amx::worth_it(M, N, K)) return false;
    return amx::gemm_joined(M, N, parts, n, alpha, beta, C, ldc);
}

void add_rows(float* y, const float* b, int M, int N) {
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(M) * N > 65536)
    for (int i = 0; i < M; i++) {
        float* yi = y + static_cast<int64_t>(i) * N;
#pragma omp simd
        for (int j = 0; j < N; j++) yi[j] += b[j];
    }
}

Scratch::~Scratch() { t4j_free(p); }

void* Scratch::get(int64_t n) {
    if (n > bytes) {
        t4j_free(p);
        p = t4j_alloc(n);
        bytes = p ? n : 0;
    }
    return p;
}

namespace {
// GemmBs live in nested scopes (the LM head holds two at once): slots are taken and given back LIFO
constexpr int kSlots = 4;
thread_local Scratch tl_b[kSlots];
thread_local int tl_b_used = 0;
}  // namespace

GemmB::GemmB(bool trans_b, int K, int N, const float* B, int ldb, int rows)
    : trans_b_(trans_b), K_(K), N_(N), ldb_(ldb), B_(B) {
    if (bf16_matmul_active() && amx::worth_it(rows, N, K) && tl_b_used < kSlots) {
        packed_ = static_cast<uint16_t*>(tl_b[tl_b_used].get(amx::packed_b_elems(K, N) * 2));
        if (packed_) {
            slot_ = tl_b_used++;
            amx::pack_b(packed_, trans_b, K, N, B, ldb);
        }
    }
}

GemmB::~GemmB() {
    if (slot_ >= 0) tl_b_used--;
}

void GemmB::multiply(bool trans_a, int M, float alpha, const float* A, int lda, float beta, float* C,
                     int ldc) const {
    if (M <= 0 || N_ <= 0) return;
    // once B is converted, a short tail block runs on the tiles too: a row's logits must not change
    // precision with where the row block boundaries fall
    if (packed_ && amx::gemm_packed_b(trans_a, M, N_, K_, alpha, A, lda, packed_, beta, C, ldc)) return;
    sgemm_team(trans_a, trans_b_, M, N_, K_, alpha, A, lda, B_, ldb_, beta, C, ldc);
}

}  // namespace t4j

int t4j_set_matmul_precision(int precision) {
    if (precision == T4J_PRECISION_BF16 && !t4j::amx::available()) precision = T4J_PRECISION_FP32;
    if (precision != T4J_PRECISION_BF16) precision = T4J_PRECISION_FP32;
    t4j::g_precision = precision;
    return precision;
}

int t4j_matmul_precision(void) { return t4j::g_precision; }

int t4j_bf16_matmul_supported(void) { return t4j::amx::has_tiles() ? 2 : t4j::amx::available() ? 1 : 0; }
