package io.tune4j.model;

import io.tune4j.model.arch.ArchFeatures;
import io.tune4j.ops.RopeScaling;
import java.util.Arrays;

/**
 * Shape and features of a Llama-family decoder (Llama 2/3, TinyLlama, SmolLM, stories*, Mistral,
 * Qwen2/2.5, Qwen3), as read from config.json or a llama2.c header. headDim is hiddenSize / numHeads
 * unless config.json says otherwise. attentionBias is config.json's attention_bias (all four attention
 * projections); what the family adds on top (Qwen2's q/k/v biases, q/k norms, sliding windows) is in
 * {@link #features}.
 */
public record LlamaConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int maxPositions,
        float rmsNormEps,
        RopeScaling rope,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int[] eosTokenIds,
        String hiddenAct,
        boolean attentionBias,
        boolean mlpBias,
        ArchFeatures features) {

    public LlamaConfig {
        requirePositive("vocab_size", vocabSize);
        requirePositive("hidden_size", hiddenSize);
        requirePositive("intermediate_size", intermediateSize);
        requirePositive("num_hidden_layers", numLayers);
        requirePositive("num_attention_heads", numHeads);
        requirePositive("num_key_value_heads", numKvHeads);
        requirePositive("head_dim", headDim);
        requirePositive("max_position_embeddings", maxPositions);
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numHeads
                    + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
        if (!"silu".equals(hiddenAct) && !GELU_TANH.equals(hiddenAct)) {
            throw new IllegalArgumentException("hidden_act must be silu or " + GELU_TANH + ", got " + hiddenAct);
        }
        if (features == null) features = ArchFeatures.LLAMA;
        for (int l : features.slidingLayers()) {
            if (l < 0 || l >= numLayers) throw new IllegalArgumentException("sliding layer " + l + " is not one of the "
                    + numLayers + " layers");
        }
    }

    /** The tanh-approximate GELU of Gemma's GeGLU MLP, as transformers names it. */
    public static final String GELU_TANH = "gelu_pytorch_tanh";

    /** A plain Llama model. */
    public LlamaConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKvHeads,
                       int headDim, int maxPositions, float rmsNormEps, RopeScaling rope, boolean tieWordEmbeddings,
                       int bosTokenId, int[] eosTokenIds, String hiddenAct, boolean attentionBias, boolean mlpBias) {
        this(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, maxPositions, rmsNormEps,
                rope, tieWordEmbeddings, bosTokenId, eosTokenIds, hiddenAct, attentionBias, mlpBias, ArchFeatures.LLAMA);
    }

    /** The same model with other features (another family's block). */
    public LlamaConfig withFeatures(ArchFeatures f) {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                maxPositions, rmsNormEps, rope, tieWordEmbeddings, bosTokenId, eosTokenIds, hiddenAct, attentionBias,
                mlpBias, f);
    }

    /** q_proj, k_proj and v_proj have biases. */
    public boolean qkvBias() {
        return attentionBias || features.qkvBias();
    }

    /**
     * One attention call's shape for this model: its heads, and Gemma's score scale and soft-cap. Without
     * those the shape's own head_dim^-1/2 applies, so Llama's arithmetic is unchanged.
     */
    public io.tune4j.ops.AttentionShape attentionShape(int B, int Tq, int Tk, int prefix, int window) {
        var x = features.extras();
        if (x.queryPreAttnScalar() == 0 && x.attnSoftcap() == 0) {
            return new io.tune4j.ops.AttentionShape(B, Tq, Tk, prefix, numHeads, numKvHeads, headDim, window);
        }
        return new io.tune4j.ops.AttentionShape(B, Tq, Tk, prefix, numHeads, numKvHeads, headDim, window,
                x.attentionScale(headDim), x.attnSoftcap());
    }

    /** The MLP is GeGLU with tanh-approximate GELU (Gemma) rather than SwiGLU. */
    public boolean gatedGelu() {
        return GELU_TANH.equals(hiddenAct);
    }

    /** o_proj has a bias. */
    public boolean oBias() {
        return attentionBias;
    }

    public String modelType() {
        return features.modelType();
    }

    private static void requirePositive(String field, int v) {
        if (v <= 0) throw new IllegalArgumentException(field + " must be positive, got " + v);
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    public int qDim() {
        return numHeads * headDim;
    }

    /** Parameters of the model (tied embeddings counted once). */
    public long parameterCount() {
        long d = hiddenSize, v = vocabSize, i = intermediateSize;
        long attn = d * qDim() + 2L * d * kvDim() + (long) qDim() * d;
        if (qkvBias()) attn += qDim() + 2L * kvDim();
        if (oBias()) attn += d;
        if (features.qkNorm()) attn += 2L * headDim;
        long mlp = 3 * d * i + (mlpBias ? 2 * i + d : 0);
        long perLayer = attn + mlp + (features.extras().sandwichNorms() ? 4 : 2) * d;
        return v * d + numLayers * perLayer + d + (tieWordEmbeddings ? 0 : v * d);
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LlamaConfig c)) return false;
        return vocabSize == c.vocabSize && hiddenSize == c.hiddenSize && intermediateSize == c.intermediateSize
                && numLayers == c.numLayers && numHeads == c.numHeads && numKvHeads == c.numKvHeads
                && headDim == c.headDim && maxPositions == c.maxPositions && rmsNormEps == c.rmsNormEps
                && rope.equals(c.rope) && tieWordEmbeddings == c.tieWordEmbeddings && bosTokenId == c.bosTokenId
                && Arrays.equals(eosTokenIds, c.eosTokenIds) && hiddenAct.equals(c.hiddenAct)
                && attentionBias == c.attentionBias && mlpBias == c.mlpBias && features.equals(c.features);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, headDim);
    }
}
