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

    // the views handed out by the latest rows(), by the buffer they view
    private final Tensor[] viewed = new Tensor[24], views = new Tensor[24];
    private int viewCount;

    /**
     * This set (sized for maxRows) cut to its first M rows, written into {@code into} (reused every step) with
     * x2 = x: ops take exactly the rows they use. Buffers aliased here stay aliased there, since the block
     * tells in-place decoding by identity.
     */
    BlockBuffers rows(int M, int maxRows, Tensor x, BlockBuffers into) {
        into.viewCount = 0;
        into.h1 = into.view(h1, M, maxRows); into.rstd1 = into.view(rstd1, M, maxRows); into.q = into.view(q, M, maxRows);
        into.k = into.view(k, M, maxRows); into.v = into.view(v, M, maxRows); into.att = into.view(att, M, maxRows);
        into.lse = into.view(lse, M, maxRows); into.x2 = x; into.h2 = into.view(h2, M, maxRows);
        into.rstd2 = into.view(rstd2, M, maxRows); into.g = into.view(g, M, maxRows); into.u = into.view(u, M, maxRows);
        into.s = into.view(s, M, maxRows); into.qPre = into.view(qPre, M, maxRows); into.kPre = into.view(kPre, M, maxRows);
        into.rstdQ = into.view(rstdQ, M, maxRows); into.rstdK = into.view(rstdK, M, maxRows);
        into.o = into.view(o, M, maxRows); into.rstdO = into.view(rstdO, M, maxRows); into.mlp = into.view(mlp, M, maxRows);
        into.rstdMlp = into.view(rstdMlp, M, maxRows); into.qkv = into.view(qkv, M, maxRows);
        into.gateUp = into.view(gateUp, M, maxRows);
        return into;
    }

    // a buffer of maxRows rows, or of maxRows * heads (the head norms' rstd)
    private Tensor view(Tensor t, int M, int maxRows) {
        if (t == null) return null;
        for (int i = 0; i < viewCount; i++) if (viewed[i] == t) return views[i];
        Tensor v = t.rows(M * (t.dim(0) / maxRows));
        viewed[viewCount] = t;
        views[viewCount++] = v;
        return v;
    }
}
