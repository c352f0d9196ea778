package io.tune4j.model.arch;

/**
 * What the Gemma families change in the block beyond Llama's, each off by default.
 *
 * @param normOffset         RMSNorm multiplies by (offset + w): 1 for Gemma, whose norm weights start at 0
 * @param sandwichNorms      post_attention_layernorm normalises the attention output and
 *                           post_feedforward_layernorm the MLP output before each residual add;
 *                           pre_feedforward_layernorm is then the MLP's input norm
 * @param scaleEmbeddings    the embedding rows are multiplied by sqrt(hidden_size) (the tied LM head is not)
 * @param queryPreAttnScalar attention scores are scaled by this^-1/2 instead of head_dim^-1/2; 0: head_dim
 * @param attnSoftcap        attention scores become cap·tanh(s/cap) before the mask; 0: none
 * @param finalSoftcap       logits become cap·tanh(z/cap); 0: none
 * @param localRopeTheta     RoPE base of the sliding-window layers, without scaling (Gemma 3's
 *                           rope_local_base_freq); 0: every layer uses the model's RoPE
 */
public record BlockExtras(float normOffset, boolean sandwichNorms, boolean scaleEmbeddings, float queryPreAttnScalar,
                          float attnSoftcap, float finalSoftcap, float localRopeTheta) {
    public static final BlockExtras NONE = new BlockExtras(0f, false, false, 0f, 0f, 0f, 0f);

    public BlockExtras {
        check("normOffset", normOffset);
        check("query_pre_attn_scalar", queryPreAttnScalar);
        check("attn_logit_softcapping", attnSoftcap);
        check("final_logit_softcapping", finalSoftcap);
        check("rope_local_base_freq", localRopeTheta);
    }

    private static void check(String field, float v) {
        if (!(v >= 0) || Float.isInfinite(v)) throw new IllegalArgumentException(field + " must be finite and not negative, got " + v);
    }

    /** The softmax scale of attention for a head size. */
    public float attentionScale(int headDim) {
        return (float) (1.0 / Math.sqrt(queryPreAttnScalar > 0 ? queryPreAttnScalar : headDim));
    }
}
