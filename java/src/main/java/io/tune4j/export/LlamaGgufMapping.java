package io.tune4j.export;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.arch.ModuleTable;
import io.tune4j.model.arch.ModuleTable.Proj;
import io.tune4j.model.io.LlamaWeights;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Hugging Face weight names to llama.cpp's, and the row order llama.cpp expects of q/k.
 * Hugging Face checkpoints (and tune4j in memory) keep q_proj/k_proj rows in rotate-half order:
 * within a head, the first half of the rows pairs with the second. llama.cpp rotates interleaved
 * pairs (rows 2i, 2i+1), the layout of Meta's original weights, so q/k rows are put back in it.
 */
public final class LlamaGgufMapping {
    private LlamaGgufMapping() {}

    /** GGUF name by Hugging Face name, in the order llama.cpp's converter writes them (the same in every family). */
    public static Map<String, String> names(LlamaConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(LlamaWeights.EMBED_TOKENS, "token_embd.weight");
        for (int l = 0; l < c.numLayers(); l++) {
            String b = "blk." + l + ".";
            m.put(LlamaWeights.inputNorm(l), b + "attn_norm.weight");
            for (Proj p : List.of(Proj.Q, Proj.K, Proj.V, Proj.O)) {
                String g = b + (p == Proj.O ? "attn_output" : "attn_" + p.module.charAt(0));
                m.put(ModuleTable.layer(l, p.path() + ".weight"), g + ".weight");
                if (ModuleTable.hasBias(c, p)) m.put(ModuleTable.layer(l, p.path() + ".bias"), g + ".bias");
            }
            if (c.features().qkNorm()) {
                m.put(LlamaWeights.layer(l, "self_attn.q_norm.weight"), b + "attn_q_norm.weight");
                m.put(LlamaWeights.layer(l, "self_attn.k_norm.weight"), b + "attn_k_norm.weight");
            }
            if (c.features().extras().sandwichNorms()) {
                // Gemma: post_attention_layernorm normalises the attention output; the MLP's input norm is
                // pre_feedforward_layernorm, which llama.cpp calls ffn_norm like Llama's
                m.put(LlamaWeights.postAttentionNorm(l), b + "post_attention_norm.weight");
                m.put(LlamaWeights.layer(l, ModuleTable.PRE_FFN_NORM + ".weight"), b + "ffn_norm.weight");
                m.put(LlamaWeights.layer(l, ModuleTable.POST_FFN_NORM + ".weight"), b + "post_ffw_norm.weight");
            } else {
                m.put(LlamaWeights.postAttentionNorm(l), b + "ffn_norm.weight");
            }
            for (Proj p : List.of(Proj.GATE, Proj.UP, Proj.DOWN)) {
                String g = b + "ffn_" + p.module.substring(0, p.module.indexOf('_'));
                m.put(ModuleTable.layer(l, p.path() + ".weight"), g + ".weight");
                if (ModuleTable.hasBias(c, p)) m.put(ModuleTable.layer(l, p.path() + ".bias"), g + ".bias");
            }
        }
        m.put(LlamaWeights.NORM, "output_norm.weight");
        if (!c.tieWordEmbeddings()) m.put(LlamaWeights.LM_HEAD, "output.weight");
        return m;
    }

    /**
     * What llama.cpp's converter adds to a norm weight: Gemma's RMSNorm multiplies by (1 + w) and
     * llama.cpp's by w, so Gemma's norms are stored as w + 1; 0 for every other tensor.
     */
    public static float normOffset(String hfName, LlamaConfig c) {
        return hfName.endsWith("norm.weight") ? c.features().extras().normOffset() : 0f;
    }

    /**
     * Heads whose rows are reordered for llama.cpp's RoPE: q (and its bias) by attention heads, k
     * by key/value heads; 0 for every other tensor, and for every tensor of a NEOX-style architecture
     * (qwen2, gemma2, gemma3), which rotates Hugging Face's rotate-half halves as they are.
     */
    public static int ropeHeads(String hfName, LlamaConfig c, GgufFamily f) {
        if (!f.interleavedRope) return 0;
        if (hfName.endsWith("self_attn.q_proj.weight") || hfName.endsWith("self_attn.q_proj.bias")) return c.numHeads();
        if (hfName.endsWith("self_attn.k_proj.weight") || hfName.endsWith("self_attn.k_proj.bias")) return c.numKvHeads();
        return 0;
    }

    /**
     * The source row of each output row when rotate-half rows become interleaved pairs: within a
     * head of hd rows, output row 2i+j is input row j·hd/2 + i (reshape(heads, 2, hd/2) then swap
     * the last two axes, as llama.cpp's converter does).
     */
    public static int[] interleavedRowOrder(int heads, int rows) {
        if (rows % heads != 0 || (rows / heads) % 2 != 0) {
            throw new IllegalArgumentException(rows + " rows do not split into " + heads + " heads of even size");
        }
        int hd = rows / heads, half = hd / 2;
        int[] src = new int[rows];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                src[h * hd + 2 * i] = h * hd + i;
                src[h * hd + 2 * i + 1] = h * hd + half + i;
            }
        }
        return src;
    }
}
