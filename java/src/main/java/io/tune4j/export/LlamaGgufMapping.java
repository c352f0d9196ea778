package io.tune4j.export;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.io.LlamaWeights;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Hugging Face Llama weight names to llama.cpp's, and the row order llama.cpp expects of q/k.
 * Hugging Face checkpoints (and tune4j in memory) keep q_proj/k_proj rows in rotate-half order:
 * within a head, the first half of the rows pairs with the second. llama.cpp rotates interleaved
 * pairs (rows 2i, 2i+1), the layout of Meta's original weights, so q/k rows are put back in it.
 */
public final class LlamaGgufMapping {
    private LlamaGgufMapping() {}

    /** GGUF name by Hugging Face name, in the order llama.cpp's converter writes them. */
    public static Map<String, String> names(LlamaConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(LlamaWeights.EMBED_TOKENS, "token_embd.weight");
        for (int l = 0; l < c.numLayers(); l++) {
            String b = "blk." + l + ".";
            m.put(LlamaWeights.inputNorm(l), b + "attn_norm.weight");
            m.put(LlamaWeights.q(l), b + "attn_q.weight");
            m.put(LlamaWeights.k(l), b + "attn_k.weight");
            m.put(LlamaWeights.v(l), b + "attn_v.weight");
            m.put(LlamaWeights.o(l), b + "attn_output.weight");
            if (c.attentionBias()) {
                m.put(LlamaWeights.layer(l, "self_attn.q_proj.bias"), b + "attn_q.bias");
                m.put(LlamaWeights.layer(l, "self_attn.k_proj.bias"), b + "attn_k.bias");
                m.put(LlamaWeights.layer(l, "self_attn.v_proj.bias"), b + "attn_v.bias");
                m.put(LlamaWeights.layer(l, "self_attn.o_proj.bias"), b + "attn_output.bias");
            }
            m.put(LlamaWeights.postAttentionNorm(l), b + "ffn_norm.weight");
            m.put(LlamaWeights.gate(l), b + "ffn_gate.weight");
            m.put(LlamaWeights.up(l), b + "ffn_up.weight");
            m.put(LlamaWeights.down(l), b + "ffn_down.weight");
            if (c.mlpBias()) {
                m.put(LlamaWeights.layer(l, "mlp.gate_proj.bias"), b + "ffn_gate.bias");
                m.put(LlamaWeights.layer(l, "mlp.up_proj.bias"), b + "ffn_up.bias");
                m.put(LlamaWeights.layer(l, "mlp.down_proj.bias"), b + "ffn_down.bias");
            }
        }
        m.put(LlamaWeights.NORM, "output_norm.weight");
        if (!c.tieWordEmbeddings()) m.put(LlamaWeights.LM_HEAD, "output.weight");
        return m;
    }

    /**
     * Heads whose rows are reordered for llama.cpp's RoPE: q (and its bias) by attention heads, k
     * by key/value heads; 0 for every other tensor.
     */
    public static int ropeHeads(String hfName, LlamaConfig c) {
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
