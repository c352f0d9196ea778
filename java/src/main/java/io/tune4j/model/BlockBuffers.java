package io.tune4j.model;

import io.tune4j.tensor.Tensor;

/**
 * Where one {@link DecoderLayer#forward} keeps its tensors. Training gives each layer its own set
 * (with checkpointing, one set shared by all), which backward reads. Decoding needs nothing kept,
 * so its set aliases a few buffers that every step reuses in place (see {@link InferenceContext}).
 */
final class BlockBuffers {
    Tensor h1, rstd1, q, k, v, att, lse, x2, h2, rstd2, g, u, s;
    Tensor qPre, kPre, rstdQ, rstdK; // q/k before their per-head norms (Qwen3), else null
    Tensor o, rstdO, mlp, rstdMlp;   // attention and MLP outputs before their post-norms (Gemma), else null
    Tensor qkv, gateUp;              // fused projections' outputs before the split (Phi-3), else null
}
