/*
 * tune4j native CPU kernels: the C ABI. JavaCPP generates its Java binding (io.tune4j.runtime.NativeLib)
 * from this header at build time (java/src/main/java/io/tune4j/runtime/presets).
 *
 * Conventions shared by every op:
 *  - fp32 row-major buffers; sizes are element counts. Matrices are named by shape, e.g. x [M,K].
 *  - Forward ops overwrite their outputs.
 *  - Backward ops ACCUMULATE (+=) into every gradient they are given, inputs' and parameters'
 *    alike, so that branches (residuals, tied weights) sum without extra buffers. A NULL
 *    gradient pointer means "not needed" and its work is skipped.
 *  - Nothing allocates inside a step: scratch space is passed in, sized by the matching
 *    *_ws_floats() query.
 *  - Functions returning int return 0 on success and a negative T4J_E* code on bad input
 *    (e.g. a token id out of range); they never abort the process.
 */
#ifndef TUNE4J_H
#define TUNE4J_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define T4J_OK 0
#define T4J_EINVAL (-1)  /* an argument is out of its valid range */
#define T4J_ERANGE (-2)  /* an index (token id, target) lies outside the table */
#define T4J_EIO (-3)     /* a file could not be opened or mapped */
#define T4J_ENOMEM (-4)  /* native memory for scratch could not be allocated */

#define T4J_IGNORE_INDEX (-100)

/* ---- runtime (runtime.cpp) ---- */
void* t4j_alloc(int64_t bytes);            /* 64-byte aligned, NULL on failure */
void t4j_free(void* p);
void t4j_fill(float* x, float value, int64_t n);
void t4j_copy(float* dst, const float* src, int64_t n);
/* Maps a file read-only and copy-on-write (MAP_PRIVATE); size_out[0] gets its length. NULL on failure. */
void* t4j_mmap(const char* path, int64_t* size_out);
void t4j_munmap(void* p, int64_t size);
void t4j_set_num_threads(int n);
int t4j_get_num_threads(void);
/* tune4j keeps OpenBLAS single-threaded and splits its products over the OpenMP team. Another library
 * in the process that shares this OpenBLAS (libtorch's has the same soname) gets its threads back here. */
void t4j_set_shared_blas_threads(int n);
/* dtype conversion for loading F16/BF16 checkpoints */
void t4j_f16_to_f32(float* dst, const uint16_t* src, int64_t n);
void t4j_bf16_to_f32(float* dst, const uint16_t* src, int64_t n);
void t4j_f32_to_bf16(uint16_t* dst, const float* src, int64_t n);
void t4j_f32_to_f16(uint16_t* dst, const float* src, int64_t n);

/* ---- gemm.cpp: precision of the matrix products inside every op ----
 * FP32 (default): OpenBLAS sgemm. BF16: operands rounded to bf16, products summed in fp32, on AMX
 * tiles where the CPU has them, else with AVX512-BF16 instructions; without either the request falls
 * back to FP32. The setting belongs to the calling thread; returns the precision now in force for it.
 * t4j_bf16_matmul_supported: 0 no, 1 AVX512-BF16, 2 AMX tiles. This setting leaves products of fewer than 16
 * rows (decoding) in fp32; bf16 decoding weights are t4j_linear_*_packed_bf16 below. In fp32, products of up to
 * 64 rows against a weight (decoding, short prompts) read it in place instead of through sgemm, and each row's
 * result is then the same whatever else is in the batch. */
#define T4J_PRECISION_FP32 0
#define T4J_PRECISION_BF16 1
int t4j_set_matmul_precision(int precision);
int t4j_matmul_precision(void);
int t4j_bf16_matmul_supported(void);

/* ---- linear.cpp: y[M,N] = x[M,K] . w[N,K]^T (+ b[N]) ---- */
void t4j_linear_fwd(float* y, const float* x, const float* w, const float* b, int M, int K, int N);
/* Decoding from bf16 weights: W [N,K] converted once (t4j_linear_pack_bf16) into the tiles the bf16
 * products read, half the bytes of fp32 to stream per token. Then y = bf16(x) . bf16(W)^T (+ b) with
 * fp32 sums, the same for one row as for a batch. _elems is 0 where the CPU has no bf16 products;
 * _fwd returns T4J_ENOMEM when its scratch could not be allocated. */
int64_t t4j_linear_packed_bf16_elems(int K, int N);
void t4j_linear_pack_bf16(uint16_t* dst, const float* w, int K, int N);
int t4j_linear_fwd_packed_bf16(float* y, const float* x, const uint16_t* wp, const float* b, int M, int K, int N);
void t4j_linear_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w,
                    int M, int K, int N);

/* ---- lora.cpp: y = x.W^T (+bias) + s.(drop(x).A^T).B^T ; A [r,K], B [N,r]; t [M,r] saved for backward.
 * Dropout keeps each element with probability 1-p and scales by 1/(1-p); the mask is a pure function of
 * (seed, element index) so backward regenerates it instead of storing it.
 * ws: t4j_lora_ws_floats(M,K,N,r,dropout) floats. */
int64_t t4j_lora_ws_floats(int M, int K, int N, int r, float dropout);
void t4j_lora_fwd(float* y, float* t, const float* x, const float* w, const float* bias, const float* a,
                  const float* b, int M, int K, int N, int r, float scale, float dropout, uint64_t seed, float* ws);
void t4j_lora_bwd(float* dx, float* dw, float* dbias, float* da, float* db, const float* dy, const float* x,
                  const float* t, const float* w, const float* a, const float* b, int M, int K, int N, int r,
                  float scale, float dropout, uint64_t seed, float* ws);

/* ---- dora.cpp: DoRA's magnitude rescaling around the fused LoRA op. With V = W + s.B.A [N,K]:
 *   norm[j] = ||V_j|| (row j of the [out,in] weight; PEFT's column norm of W^T), g[j] = m[j] / norm[j]
 *   (0 for a zero row); the norm is detached from the gradient, so it has no backward.
 *   y[M,N] = g o u (+bias) with u = x.W^T + s.(drop(x).A^T).B^T from t4j_lora_fwd (bias NULL) saved;
 *   backward: du = g o dy (overwritten), dm[j] += sum_i dy_ij u_ij / norm[j], dbias += colsum(dy).
 * g, du, dm and dbias may be NULL. ws of t4j_dora_norm: t4j_dora_norm_ws_floats(K,N,r) floats. */
int64_t t4j_dora_norm_ws_floats(int K, int N, int r);
void t4j_dora_norm(float* norm, float* g, const float* w, const float* a, const float* b, const float* m, int K,
                   int N, int r, float scale, float* ws);
void t4j_dora_scale_fwd(float* y, const float* u, const float* g, const float* bias, int M, int N);
void t4j_dora_scale_bwd(float* du, float* dm, float* dbias, const float* dy, const float* u, const float* g,
                        const float* norm, int M, int N);

/* ---- lora_multi.cpp: segmented multi-adapter LoRA (SGMV/BGMV) for serving; inference only, no backward.
 * y [M,N] already holds the shared base projection x.W^T. Each row i with s = row_slot[i] >= 0 adds
 *   y_i += scales[s] . (x_i . A_s^T) . B_s^T,   A_s = a[s] [ranks[s], K], B_s = b[s] [N, ranks[s]].
 * Rows with slot -1, and slots of rank 0 (a[s]/b[s] may then be NULL), add nothing. Ranks may differ
 * per slot, each <= max_r. ws: t4j_lora_multi_ws_floats(M,K,N,max_r) floats.
 * Returns T4J_ERANGE when a row's slot lies outside [-1, n_slots), T4J_EINVAL for a bad size or rank. */
int64_t t4j_lora_multi_ws_floats(int M, int K, int N, int max_r);
int t4j_lora_multi_fwd(float* y, const float* x, const int32_t* row_slot, int M, int K, int N,
                       const float* const* a, const float* const* b, const int32_t* ranks, const float* scales,
                       int n_slots, int max_r, float* ws);

/* ---- adapter.cpp: bottleneck adapter y = x + act(x.D^T + bd).U^T + bu ; D [m,d], U [d,m].
 * h [M,m] (pre-activation) and a [M,m] (activation) are saved for backward.
 * act: 0 relu, 1 gelu (tanh approximation), 2 silu. ws: M*m floats. */
#define T4J_ACT_RELU 0
#define T4J_ACT_GELU 1
#define T4J_ACT_SILU 2
void t4j_adapter_fwd(float* y, float* h, float* a, const float* x, const float* dw, const float* db,
                     const float* uw, const float* ub, int M, int d, int m, int act);
void t4j_adapter_bwd(float* dx, float* ddw, float* ddb, float* duw, float* dub, const float* dy, const float* x,
                     const float* h, const float* a, const float* dw, const float* uw, int M, int d, int m, int act,
                     float* ws);

/* ---- embedding.cpp: out[M,d] = table[ids[i]] ; table [V,d] ---- */
int t4j_embedding_fwd(float* out, const int32_t* ids, const float* table, int M, int V, int d);
int t4j_embedding_bwd(float* dtable, const float* dout, const int32_t* ids, int M, int V, int d);

/* ---- rmsnorm.cpp: y = x / sqrt(mean(x^2) + eps) * (w + w_offset) ; rstd [M] saved ----
 * w_offset is 0 for Llama-style norms and 1 for Gemma's (1 + w). y may alias x. Backward: dx uses w + w_offset,
 * dw += sum over rows of dy * x * rstd. */
void t4j_rmsnorm_fwd(float* y, float* rstd, const float* x, const float* w, int M, int d, float eps, float w_offset);
void t4j_rmsnorm_bwd(float* dx, float* dw, const float* dy, const float* x, const float* w, const float* rstd,
                     int M, int d, float w_offset);

/* ---- rope.cpp: rotate-half RoPE (Hugging Face layout: pairs (i, i+hd/2)).
 * Table: cos/sin [max_pos, hd/2]. scaling: 0 none, 1 llama3 (factor, low/high freq factor, original max pos),
 * 2 linear (positions divided by factor). x is [M, nh, hd], rotated in place by angle(pos[i]);
 * backward rotates the gradient in place by the opposite angle. */
#define T4J_ROPE_NONE 0
#define T4J_ROPE_LLAMA3 1
#define T4J_ROPE_LINEAR 2
void t4j_rope_table(float* cos, float* sin, int max_pos, int hd, float theta, int scaling, float factor,
                    float low_freq_factor, float high_freq_factor, int original_max_pos);
int t4j_rope_fwd(float* x, const int32_t* pos, const float* cos, const float* sin, int M, int nh, int hd, int max_pos);
int t4j_rope_bwd(float* dx, const int32_t* pos, const float* cos, const float* sin, int M, int nh, int hd, int max_pos);

/* ---- attention.cpp: causal grouped-query attention with an optional prefix.
 * q [B,Tq,nh,hd]; k,v [B,Tk,nkv,hd] (Tk is the per-sequence capacity, e.g. of a KV cache);
 * pk,pv [P,nkv,hd] are extra keys/values every query sees (prefix tuning; P may be 0, pointers NULL).
 * Query i of sequence b sits at absolute position q_start[b]+i (q_start NULL: all 0) and sees
 * keys j with lo <= j <= q_start[b]+i, where lo = kv_start[b*Tq+i] (kv_start NULL: 0; used to keep
 * packed examples apart). With window > 0 (sliding-window attention, Mistral/Qwen/Gemma) lo is raised to
 * at least q_start[b]+i-window+1: a query sees itself and the window-1 keys before it; the prefix stays
 * visible. window 0: no window. Scores are scale * q.k (scale > 0; Llama: 1/sqrt(hd), Gemma:
 * query_pre_attn_scalar^-0.5); with softcap > 0 (Gemma 2) they become softcap * tanh(s / softcap) before the
 * mask and softmax (softcap 0: none). Head h uses KV head h / (nh/nkv).
 * out [B,Tq,nh,hd]; lse [B,Tq,nh] (log-sum-exp of each row's capped scores) saved for backward.
 * ws: t4j_attention_ws_floats(...) floats. */
int64_t t4j_attention_ws_floats(int B, int Tq, int Tk, int P, int nh, int nkv, int hd);
int t4j_attention_fwd(float* out, float* lse, const float* q, const float* k, const float* v, const float* pk,
                      const float* pv, const int32_t* q_start, const int32_t* kv_start, int B, int Tq, int Tk, int P,
                      int nh, int nkv, int hd, int window, float scale, float softcap, float* ws);
int t4j_attention_bwd(float* dq, float* dk, float* dv, float* dpk, float* dpv, const float* dout, const float* out,
                      const float* lse, const float* q, const float* k, const float* v, const float* pk,
                      const float* pv, const int32_t* q_start, const int32_t* kv_start, int B, int Tq, int Tk, int P,
                      int nh, int nkv, int hd, int window, float scale, float softcap, float* ws);
/* Writes src [B,Tq,nkv*hd] into cache [B,Tmax,nkv*hd] at rows q_start[b]..q_start[b]+Tq-1. */
int t4j_kv_write(float* cache, const float* src, const int32_t* q_start, int B, int Tq, int Tmax, int width);

/* ---- copy.cpp: dst[r, dst_col + j] = src[r, src_col + j] for r < rows, j < cols; dst [rows, dst_width] and
 * src [rows, src_width] row-major and not overlapping (a fused projection split into, or gathered from, its
 * parts). T4J_EINVAL for a negative argument or a column block beyond either width. ---- */
int t4j_copy_columns(float* dst, int64_t dst_width, int64_t dst_col, const float* src, int64_t src_width,
                     int64_t src_col, int64_t rows, int64_t cols);

/* ---- swiglu.cpp: out = silu(g) * u, elementwise over n ---- */
void t4j_swiglu_fwd(float* out, const float* g, const float* u, int64_t n);
void t4j_swiglu_bwd(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n);

/* ---- geglu.cpp: out = gelu_tanh(g) * u, elementwise over n (Gemma's MLP; HF gelu_pytorch_tanh:
 * gelu_tanh(g) = 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3)))). out may alias g or u. ---- */
void t4j_geglu_fwd(float* out, const float* g, const float* u, int64_t n);
void t4j_geglu_bwd(float* dg, float* du, const float* dout, const float* g, const float* u, int64_t n);

/* ---- activation.cpp: elementwise activations over n ----
 * tanh backward takes the saved OUTPUT y = tanh(x) and accumulates dx += dy * (1 - y^2). */
void t4j_tanh_fwd(float* y, const float* x, int64_t n);
void t4j_tanh_bwd(float* dx, const float* dy, const float* y, int64_t n);
/* Soft-capping y = cap * tanh(x / cap) (y may alias x); backward from the saved output:
 * dx += dy * (1 - (y/cap)^2). T4J_EINVAL unless cap > 0. */
int t4j_softcap_fwd(float* y, const float* x, float cap, int64_t n);
int t4j_softcap_bwd(float* dx, const float* dy, const float* y, float cap, int64_t n);

/* ---- residual.cpp ---- */
void t4j_add(float* y, const float* a, const float* b, int64_t n);           /* y = a + b (y may alias a or b) */
void t4j_axpy(float* y, float alpha, const float* x, int64_t n);            /* y += alpha x */

/* ---- crossentropy.cpp: softmax cross-entropy fused with its gradient.
 * logits [M,V] are replaced by grad_scale * d(loss_i)/d(logits) in place (rows whose target is
 * T4J_IGNORE_INDEX get zeros); losses [M] get -log p(target) (0 for ignored rows).
 * The softmax runs over the vocabulary in chunks with an online max/sum, so one pass reads the row.
 * Returns the number of counted rows, or a negative error. grad_scale 0 skips the gradient. */
int t4j_cross_entropy(float* losses, float* logits, const int32_t* targets, int M, int V, float grad_scale);
/* The LM head fused with the loss: h [M,d], w [V,d]. Rows are processed in blocks of block_rows so the
 * full [M,V] logits never exist; ws holds block_rows*V floats. dh, dw accumulate (NULL to skip: eval).
 * Returns the summed loss over counted rows in loss_out[0] and the count in loss_out[1].
 * softcap > 0 caps the logits first (Gemma 2's final_logit_softcapping): z = softcap * tanh(h.w^T / softcap);
 * the gradient then carries the factor 1 - (z/softcap)^2. softcap 0: none. */
int t4j_lmhead_cross_entropy(double* loss_out, float* dh, float* dw, const float* h, const float* w,
                             const int32_t* targets, int M, int d, int V, float softcap, float grad_scale, float* ws,
                             int block_rows);

/* Per-sequence log-likelihoods through the LM head: the batch is B sequences of T rows (h [B*T,d]); logp[b] gets
 * the summed log p(target) over the counted rows of sequence b and counts[b] their number. With dh/dw (they
 * accumulate) and seq_weight [B], the gradient of sum_b seq_weight[b] * logp[b] is added. Returns the counted rows.
 * softcap as in t4j_lmhead_cross_entropy. */
int t4j_lmhead_sequence_logprobs(double* logp, int32_t* counts, float* dh, float* dw, const float* h, const float* w,
                                 const int32_t* targets, const float* seq_weight, int B, int T, int d, int V,
                                 float softcap, float* ws, int block_rows);

/* ---- preference.cpp: preference losses over N pairs of summed sequence log-probs, fused with their gradients.
 * Pairs whose chosen or rejected sequence has no counted tokens are skipped (zero gradient). grad_* [N] (NULL
 * to skip) get grad_scale * dloss/dlogp per sequence. sums[5]: loss, reward margin, pairs ranked right, chosen
 * and rejected log-probs, each summed over the counted pairs. Return the number of counted pairs.
 * DPO: -log sigma(beta * ((pc - rc) - (pr - rr))), rewards beta * (policy - reference).
 * ORPO: -pc/nc - lambda * log sigma(log odds(pc/nc) - log odds(pr/nr)), odds(a) = e^a / (1 - e^a);
 *       its margin and ranking use the length-normalised log-probs. */
int t4j_dpo_loss(double* sums, double* grad_chosen, double* grad_rejected, const double* policy_chosen,
                 const double* policy_rejected, const double* ref_chosen, const double* ref_rejected,
                 const int32_t* n_chosen, const int32_t* n_rejected, int N, double beta, double grad_scale);
int t4j_orpo_loss(double* sums, double* grad_chosen, double* grad_rejected, const double* policy_chosen,
                  const double* policy_rejected, const int32_t* n_chosen, const int32_t* n_rejected, int N,
                  double lambda, double grad_scale);

/* ---- optim.cpp ---- */
/* AdamW with decoupled weight decay and bias correction; step counts from 1. */
void t4j_adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
               float eps, float weight_decay, int step);
double t4j_sumsq(const float* x, int64_t n);
void t4j_scale(float* x, float s, int64_t n);

/* ---- sampling.cpp: one token from logits [V] (modified in place).
 * Repetition penalty (CTRL style) on the ids in recent[n_recent]; temperature <= 0 means greedy;
 * top_k <= 0 and top_p >= 1 disable those filters. coin is a uniform [0,1) draw from the caller's RNG.
 * ws: 2*V floats. Returns the token id. */
int t4j_sample(float* logits, int V, float temperature, int top_k, float top_p, float repetition_penalty,
               const int32_t* recent, int n_recent, float coin, float* ws);
int t4j_argmax(const float* x, int n);

#ifdef __cplusplus
}
#endif
#endif
