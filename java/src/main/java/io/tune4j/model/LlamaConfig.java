package io.tune4j.model;

import io.tune4j.ops.RopeScaling;
import java.util.Arrays;

/**
 * Architecture of a Llama-family decoder (Llama 2/3, TinyLlama, SmolLM, stories*), as read from
 * config.json or a llama2.c header. headDim is hiddenSize / numHeads unless config.json says otherwise.
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
        boolean mlpBias) {

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
        if (attentionBias) attn += qDim() + 2L * kvDim() + d;
        long mlp = 3 * d * i + (mlpBias ? 2 * i + d : 0);
        long perLayer = attn + mlp + 2 * d;
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
                && attentionBias == c.attentionBias && mlpBias == c.mlpBias;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, headDim);
    }
}
