/*
 * tune4j CUDA kernels: the C ABI. JavaCPP generates its Java binding (io.tune4j.runtime.CudaLib) from
 * this header at build time (java/src/main/java/io/tune4j/runtime/presets).
 *
 * The same ops and conventions as native/include/tune4j.h, on device memory:
 *  - every buffer argument is a device pointer; `stream` is a cudaStream_t passed as void*
 *    (NULL = the legacy default stream);
 *  - forward ops overwrite their outputs, backward ops ACCUMULATE (+=) into every gradient they are
 *    given, NULL gradients are skipped;
 *  - launches are asynchronous. Functions return 0 (or a count) on success and a negative code on
 *    failure; they never abort. Argument errors known on the host (shapes) are returned at once.
 *    Errors that depend on device data (a token id out of range, a bad q_start) cannot be known
 *    without a synchronisation, so the checking kernel records them in a device status word and the
 *    op's compute kernels then do nothing (a bad batch leaves the outputs untouched, as on the CPU);
 *    t4jc_take_status() synchronises and returns (and clears) that word. Functions that must
 *    return a value computed on the device (sample, argmax, cross-entropy counts, sums of squares)
 *    synchronise their stream and report the status themselves.
 *  - the status word and the small result slots are per process: ops whose results are read back
 *    must not run concurrently on two streams.
 */
#ifndef TUNE4J_CUDA_H
#define TUNE4J_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define T4JC_OK 0
#define T4JC_EINVAL (-1)  /* same codes as tune4j.h */
#define T4JC_ERANGE (-2)
#define T4JC_ECUDA (-4)   /* a CUDA runtime call failed: t4jc_last_error() says which and why */
#define T4JC_ENODEV (-5)  /* no usable device (no driver, no GPU) */

/* ---- runtime.cu ---- */
/* Number of CUDA devices; 0 (never an error) when there is no driver or no GPU. */
int t4jc_device_count(void);
/* Why the last call failed (or why there is no device), for diagnostics. Thread-local, never NULL. */
const char* t4jc_last_error(void);
/* Name, total memory, compute capability and SM count of device dev. */
int t4jc_device_info(int dev, char* name, int name_len, int64_t* total_bytes, int* cc_major, int* cc_minor,
                     int* sm_count);
int t4jc_set_device(int dev);
void* t4jc_malloc(int64_t bytes); /* 256-byte aligned device memory, NULL on failure */
int t4jc_free(void* p);
/* Host<->device copies are synchronous (the host buffer may be reused as soon as they return). */
int t4jc_upload(void* dst_dev, const void* src_host, int64_t bytes, void* stream);
int t4jc_download(void* dst_host, const void* src_dev, int64_t bytes, void* stream);
int t4jc_copy(void* dst_dev, const void* src_dev, int64_t bytes, void* stream); /* async */
int t4jc_memset(void* p, int value, int64_t bytes, void* stream);
int t4jc_fill(float* x, float value, int64_t n, void* stream);
int t4jc_stream_create(void** stream_out);
int t4jc_stream_destroy(void* stream);
int t4jc_stream_sync(void* stream);
/* Synchronises the stream and returns, then clears, the device status word (0 or a T4JC_E* code).
 * Ops that validate their inputs on the device (token ids, positions, q_start, adapter slots, targets)
 * do not synchronise: the first failure is kept, and later checking kernels write nothing, until a call
 * that reads the status block (this one, a loss, a sampled token, a sum of squares) returns it. */
int t4jc_take_status(void* stream);
/* Which check recorded the failure the last status read returned (T4JC_CHECK_*), then 0; 0 if none. */
int t4jc_take_failed_check(void);
#define T4JC_CHECK_EMBEDDING 1  /* a token id outside [0, V) */
#define T4JC_CHECK_ROPE 2       /* a position outside [0, max_pos) */
#define T4JC_CHECK_ATTENTION 3  /* a q_start/kv_start that leaves a query without keys */
#define T4JC_CHECK_KV_WRITE 4   /* a KV cache write past its capacity */
#define T4JC_CHECK_LORA_SLOT 5  /* a row's adapter slot outside [-1, n) */
#define T4JC_CHECK_TARGETS 6    /* a cross-entropy target outside [0, V) and not -100 */
int t4jc_bf16_to_f32(float* dst, const uint16_t* src, int64_t n, void* stream);
int t4jc_f32_to_bf16(uint16_t* dst, const float* src, int64_t n, void* stream);

/* ---- gemm.cu: C[M,N] = alpha op(A) op(B) + beta C, row-major (cblas RowMajor semantics).
 * op(A) is [M,K]: A [M,K] (lda >= K) or, transposed, A [K,M] (lda >= M); likewise op(B) [K,N].
 * beta == 0 never reads C (C may hold NaN). A tiled shared-memory SGEMM for now; cuBLASLt later. */
int t4jc_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
              int ldb, float beta, float* C, int ldc, void* stream);
/* linear: y[M,N] = x[M,K] w[N,K]^T (+ b[N]) and its backward (accumulating). */
int t4jc_linear_fwd(float* y, const float* x, const float* w, const float* b, int M, int K, int N, void* stream);
int t4jc_linear_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int M, int K,
                    int N, void* stream);
/* db[N] += column sums of dy[M,N] */
int t4jc_colsum_acc(float* db, const float* dy, int M, int N, void* stream);

/* ---- elementwise.cu ---- */
int t4jc_add(float* y, const float* a, const float* b, int64_t n, void* stream); /* y may alias a or b */
int t4jc_axpy(float* y, float alpha, const float* x, int64_t n, void* stream);
int t4jc_scale(float* x, float s, int64_t n, void* stream);
/* tanh (prefix-tuning MLP); backward accumulates dx += dy (1 - y^2) from the saved output */
int t4jc_tanh_fwd(float* y, const float* x, int64_t n, void* stream);
int t4jc_tanh_bwd(float* dx, const float* dy, const float* y, int64_t n, void* stream);
/* soft-capping y = cap tanh(x / cap) (y may alias x); backward dx += dy (1 - (y/cap)^2) from the saved output */
int t4jc_softcap_fwd(float* y, const float* x, float cap, int64_t n, void* stream);
int t4jc_softcap_bwd(float* dx, const float* dy, const float* y, float cap, int64_t n, void* stream);
int t4jc_swiglu_fwd(float* out, const float* g, const float* u, int64_t n, void* stream);
int t4jc_swiglu_bwd(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n,
                    void* stream);
/* bf16 storage, fp32 arithmetic */
int t4jc_add_bf16(uint16_t* y, const uint16_t* a, const uint16_t* b, int64_t n, void* stream);
int t4jc_swiglu_fwd_bf16(uint16_t* out, const uint16_t* g, const uint16_t* u, int64_t n, void* stream);

/* ---- geglu.cu: out = gelu_tanh(g) * u (t4j_geglu_* semantics; out may alias g or u) ---- */
int t4jc_geglu_fwd(float* out, const float* g, const float* u, int64_t n, void* stream);
int t4jc_geglu_bwd(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n,
                   void* stream);

/* ---- rmsnorm.cu (w_offset as t4j_rmsnorm_*: the weights are w + w_offset) ---- */
int t4jc_rmsnorm_fwd(float* y, float* rstd, const float* x, const float* w, int M, int d, float eps, float w_offset,
                     void* stream);
int t4jc_rmsnorm_bwd(float* dx, float* dw, const float* dy, const float* x, const float* w, const float* rstd, int M,
                     int d, float w_offset, void* stream);
/* Fused residual + norm: h = x + r (h may alias x or r), y = rmsnorm(h) w. One read of x and r. */
int t4jc_add_rmsnorm_fwd(float* h, float* y, float* rstd, const float* x, const float* r, const float* w, int M,
                         int d, float eps, void* stream);
int t4jc_rmsnorm_fwd_bf16(uint16_t* y, float* rstd, const uint16_t* x, const float* w, int M, int d, float eps,
                          void* stream);

/* ---- rope.cu (same table layout and scaling codes as tune4j.h) ---- */
int t4jc_rope_table(float* cos, float* sin, int max_pos, int hd, float theta, int scaling, float factor,
                    float low_freq_factor, float high_freq_factor, int original_max_pos, void* stream);
int t4jc_rope_fwd(float* x, const int32_t* pos, const float* cos, const float* sin, int M, int nh, int hd,
                  int max_pos, void* stream);
int t4jc_rope_bwd(float* dx, const int32_t* pos, const float* cos, const float* sin, int M, int nh, int hd,
                  int max_pos, void* stream);

/* ---- embedding.cu ---- */
int t4jc_embedding_fwd(float* out, const int32_t* ids, const float* table, int M, int V, int d, void* stream);
/* scatter-add with atomics: the summation order of repeated ids is not fixed */
int t4jc_embedding_bwd(float* dtable, const float* dout, const int32_t* ids, int M, int V, int d, void* stream);
int t4jc_embedding_fwd_bf16(float* out, const int32_t* ids, const uint16_t* table, int M, int V, int d,
                            void* stream);

/* ---- attention.cu: the semantics of t4j_attention_* (causal GQA, prefix, q_start, kv_start, window, scale,
 * softcap).
 * Forward is flash style (online softmax, lse saved); backward recomputes the probabilities and
 * accumulates dk/dv/dpk/dpv with atomics. hd <= 256. ws: t4jc_attention_ws_floats() floats. */
int64_t t4jc_attention_ws_floats(int B, int Tq, int Tk, int P, int nh, int nkv, int hd);
int t4jc_attention_fwd(float* out, float* lse, const float* q, const float* k, const float* v, const float* pk,
                       const float* pv, const int32_t* q_start, const int32_t* kv_start, int B, int Tq, int Tk, int P,
                       int nh, int nkv, int hd, int window, float scale, float softcap, float* ws, void* stream);
int t4jc_attention_bwd(float* dq, float* dk, float* dv, float* dpk, float* dpv, const float* dout, const float* out,
                       const float* lse, const float* q, const float* k, const float* v, const float* pk,
                       const float* pv, const int32_t* q_start, const int32_t* kv_start, int B, int Tq, int Tk, int P,
                       int nh, int nkv, int hd, int window, float scale, float softcap, float* ws, void* stream);
int t4jc_kv_write(float* cache, const float* src, const int32_t* q_start, int B, int Tq, int Tmax, int width,
                  void* stream);

/* ---- copy.cu: the semantics of t4j_copy_columns (dst [rows, dst_width], src [rows, src_width], not
 * overlapping); asynchronous on stream. ---- */
int t4jc_copy_columns(float* dst, int64_t dst_width, int64_t dst_col, const float* src, int64_t src_width,
                      int64_t src_col, int64_t rows, int64_t cols, void* stream);

/* ---- crossentropy.cu: the semantics of t4j_cross_entropy / t4j_lmhead_cross_entropy.
 * Both synchronise and return the counted rows (or a negative code). */
int t4jc_cross_entropy(float* losses, float* logits, const int32_t* targets, int M, int V, float grad_scale,
                       void* stream);
/* loss_out (host) gets {summed loss, counted rows}; ws holds block_rows*V floats; softcap > 0 caps the logits. */
int t4jc_lmhead_cross_entropy(double* loss_out, float* dh, float* dw, const float* h, const float* w,
                              const int32_t* targets, int M, int d, int V, float softcap, float grad_scale, float* ws,
                              int block_rows, void* stream);
/* The same without synchronising: {summed loss, counted rows} are added to acc_dev (2 doubles on the device)
 * so that a training step's micro-batches are read once, by t4jc_loss_take. */
int t4jc_lmhead_cross_entropy_acc(double* acc_dev, float* dh, float* dw, const float* h, const float* w,
                                  const int32_t* targets, int M, int d, int V, float softcap, float grad_scale,
                                  float* ws, int block_rows, void* stream);
/* Synchronises once: out_host gets acc_dev's {sum, count}, acc_dev is zeroed; returns the status word. */
int t4jc_loss_take(double* out_host, double* acc_dev, void* stream);

/* ---- optim.cu ---- */
int t4jc_adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2, float eps,
               float weight_decay, int step, void* stream);
/* One launch for many parameter tensors: `list` is a DEVICE array of count entries. */
typedef struct {
    float* p;
    const float* g;
    float* m;
    float* v;
    int64_t n;
} t4jc_adamw_tensor;
int t4jc_adamw_multi(const t4jc_adamw_tensor* list, int count, int64_t max_n, float lr, float beta1, float beta2,
                     float eps, float weight_decay, int step, void* stream);
/* out_dev[0] += sum of squares over every tensor (device double; no synchronisation): gradient clipping
 * without a round trip. ptrs/ns are DEVICE arrays of count entries. */
int t4jc_sumsq_multi(double* out_dev, const float* const* ptrs, const int64_t* ns, int count, int64_t max_n,
                     void* stream);
/* Host result, synchronising. */
int t4jc_sumsq(double* out_host, const float* x, int64_t n, void* stream);

/* ---- sampling.cu: the semantics of t4j_sample / t4j_argmax; synchronise and return the token id.
 * ws: 2*V floats. recent is a device array. */
int t4jc_sample(float* logits, int V, float temperature, int top_k, float top_p, float repetition_penalty,
                const int32_t* recent, int n_recent, float coin, float* ws, void* stream);
int t4jc_argmax(const float* x, int n, void* stream);

/* ---- lora.cu: fused LoRA, same dropout mask as the CPU (pure function of seed and element index).
 * shrink: t[M,r] = drop(x)[M,K] A[r,K]^T, dropout applied while loading x (no drop(x) buffer).
 * expand: y[M,N] += scale t B[N,r]^T, in place.
 * The full fwd/bwd have t4j_lora_* semantics; ws: t4jc_lora_ws_floats() floats (dt only). */
int t4jc_lora_shrink(float* t, const float* x, const float* a, int M, int K, int r, float dropout, uint64_t seed,
                     void* stream);
int t4jc_lora_expand(float* y, const float* t, const float* b, int M, int N, int r, float scale, void* stream);
int64_t t4jc_lora_ws_floats(int M, int K, int N, int r, float dropout);
int t4jc_lora_fwd(float* y, float* t, const float* x, const float* w, const float* bias, const float* a,
                  const float* b, int M, int K, int N, int r, float scale, float dropout, uint64_t seed, float* ws,
                  void* stream);
int t4jc_lora_bwd(float* dx, float* dw, float* dbias, float* da, float* db, const float* dy, const float* x,
                  const float* t, const float* w, const float* a, const float* b, int M, int K, int N, int r,
                  float scale, float dropout, uint64_t seed, float* ws, void* stream);
/* backward pieces: dA[r,K] += dt^T drop(x) ; dx[M,K] += mask o (dt A) / (1-p) */
int t4jc_lora_bwd_a(float* da, const float* dt, const float* x, int M, int K, int r, float dropout, uint64_t seed,
                    void* stream);
int t4jc_lora_bwd_x(float* dx, const float* dt, const float* a, int M, int K, int r, float dropout, uint64_t seed,
                    void* stream);
/* Batched multi-adapter LoRA (BGMV): row m uses adapter idx[m] (negative: none).
 * As [n_adapters, r, K], Bs [n_adapters, N, r], scales [n_adapters] (device).
 * y[m] += scales[i] (x[m] A_i^T) B_i^T ; t [M,r] is scratch. Meant for decode-sized M. */
int t4jc_bgmv_lora(float* y, float* t, const float* x, const float* as, const float* bs, const float* scales,
                   const int32_t* idx, int M, int K, int N, int r, int n_adapters, void* stream);

/* ---- dora.cu: t4j_dora_* semantics (tune4j.h); ws of t4jc_dora_norm: t4jc_dora_norm_ws_floats() floats
 * (the whole adapted weight V, built by the tiled GEMM). */
int64_t t4jc_dora_norm_ws_floats(int K, int N, int r);
int t4jc_dora_norm(float* norm, float* g, const float* w, const float* a, const float* b, const float* m, int K, int N,
                   int r, float scale, float* ws, void* stream);
int t4jc_dora_scale_fwd(float* y, const float* u, const float* g, const float* bias, int M, int N, void* stream);
int t4jc_dora_scale_bwd(float* du, float* dm, float* dbias, const float* dy, const float* u, const float* g,
                        const float* norm, int M, int N, void* stream);

/* ---- lora_multi.cu: t4j_lora_multi_* semantics (tune4j.h); inference only. x, y, row_slot and ws are
 * device memory; a, b (device addresses), ranks and scales are HOST arrays of n_slots entries, at most
 * T4JC_LORA_MULTI_MAX_SLOTS. A row slot outside [-1, n_slots) is recorded in the device status word
 * (T4JC_ERANGE, read by t4jc_take_status). ws: t4jc_lora_multi_ws_floats() floats. */
#define T4JC_LORA_MULTI_MAX_SLOTS 64
int64_t t4jc_lora_multi_ws_floats(int M, int K, int N, int max_r);
int t4jc_lora_multi_fwd(float* y, const float* x, const int32_t* row_slot, int M, int K, int N,
                        const float* const* a, const float* const* b, const int32_t* ranks, const float* scales,
                        int n_slots, int max_r, float* ws, void* stream);

/* ---- adapter.cu: t4j_adapter_* semantics (act codes as tune4j.h: 0 relu, 1 gelu-tanh, 2 silu).
 * For m <= 128 the forward is one kernel per row tile (down, act, up, residual; the bottleneck
 * activations stay in shared memory). ws: M*m floats (backward). */
int t4jc_adapter_fwd(float* y, float* h, float* a, const float* x, const float* dw, const float* db, const float* uw,
                     const float* ub, int M, int d, int m, int act, void* stream);
int t4jc_adapter_bwd(float* dx, float* ddw, float* ddb, float* duw, float* dub, const float* dy, const float* x,
                     const float* h, const float* a, const float* dw, const float* uw, int M, int d, int m, int act,
                     float* ws, void* stream);

#ifdef __cplusplus
}
#endif
#endif
