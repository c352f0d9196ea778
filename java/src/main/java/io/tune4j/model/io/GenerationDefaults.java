package io.tune4j.model.io;

import java.util.Arrays;

/**
 * Sampling defaults from generation_config.json. Absent fields take Hugging Face's defaults
 * (greedy decoding, temperature 1, top_p 1, top_k 50, no repetition penalty); absent lengths are -1.
 */
public record GenerationDefaults(boolean doSample, float temperature, float topP, int topK,
                                 float repetitionPenalty, int maxLength, int maxNewTokens,
                                 int bosTokenId, int[] eosTokenIds, int padTokenId) {

    public static final GenerationDefaults NONE =
            new GenerationDefaults(false, 1f, 1f, 50, 1f, -1, -1, -1, new int[0], -1);

    public GenerationDefaults {
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationDefaults g && doSample == g.doSample && temperature == g.temperature
                && topP == g.topP && topK == g.topK && repetitionPenalty == g.repetitionPenalty
                && maxLength == g.maxLength && maxNewTokens == g.maxNewTokens && bosTokenId == g.bosTokenId
                && Arrays.equals(eosTokenIds, g.eosTokenIds) && padTokenId == g.padTokenId;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(doSample, temperature, topP, topK, maxLength, Arrays.hashCode(eosTokenIds));
    }

    @Override
    public String toString() {
        return "GenerationDefaults[doSample=" + doSample + ", temperature=" + temperature + ", topP=" + topP
                + ", topK=" + topK + ", repetitionPenalty=" + repetitionPenalty + ", maxLength=" + maxLength
                + ", maxNewTokens=" + maxNewTokens + ", eos=" + Arrays.toString(eosTokenIds) + "]";
    }
}
