package io.tune4j.bench;

import io.tune4j.model.LlamaConfig;
import io.tune4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * The same Llama decoder written eagerly against libtorch, as a Java user of the PyTorch preset
 * would: float32 weights copied from tune4j's, a preallocated KV cache, Hugging Face's
 * rotate-half RoPE and repeat_kv + scaled_dot_product_attention, greedy argmax, all under
 * InferenceMode. Projection biases (Qwen2's q/k/v) are read from the weights when present; the LM
 * head is the embedding when tied.
 */
final class TorchDecoder implements AutoCloseable {
    private final LlamaConfig cfg;
    private final List<Pointer> owned = new ArrayList<>();
    private final org.bytedeco.pytorch.Tensor embed, finalNorm, head, cos, sin;
    private final Layer[] layers;
    private final TensorOptional noMask, finalNormOpt;
    private final DoubleOptional defaultScale, eps;
    private final LongOptional headAxis;
    private final long[] normShape;

    private static final class Layer {
        org.bytedeco.pytorch.Tensor attnNorm, ffnNorm, q, k, v, o, gate, up, down, cacheK, cacheV;
        /** Projection biases where the model has them (Qwen2: q, k, v), else null. */
        org.bytedeco.pytorch.Tensor qb, kb, vb, ob, gateB, upB, downB;
        TensorOptional attnNormOpt, ffnNormOpt;
    }

    TorchDecoder(LlamaConfig cfg, Map<String, Tensor> w) {
        Libtorch.requireLlamaBlock(cfg);
        this.cfg = cfg;
        int hd = cfg.headDim(), maxSeq = cfg.maxPositions();
        embed = copy(w.get("model.embed_tokens.weight"));
        finalNorm = copy(w.get("model.norm.weight"));
        head = cfg.tieWordEmbeddings() ? embed : copy(w.get("lm_head.weight"));
        layers = new Layer[cfg.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            Layer L = layers[l] = new Layer();
            L.attnNorm = copy(w.get(p + "input_layernorm.weight"));
            L.ffnNorm = copy(w.get(p + "post_attention_layernorm.weight"));
            L.q = copy(w.get(p + "self_attn.q_proj.weight"));
            L.k = copy(w.get(p + "self_attn.k_proj.weight"));
            L.v = copy(w.get(p + "self_attn.v_proj.weight"));
            L.o = copy(w.get(p + "self_attn.o_proj.weight"));
            L.gate = copy(w.get(p + "mlp.gate_proj.weight"));
            L.up = copy(w.get(p + "mlp.up_proj.weight"));
            L.down = copy(w.get(p + "mlp.down_proj.weight"));
            L.qb = copyIfPresent(w.get(p + "self_attn.q_proj.bias"));
            L.kb = copyIfPresent(w.get(p + "self_attn.k_proj.bias"));
            L.vb = copyIfPresent(w.get(p + "self_attn.v_proj.bias"));
            L.ob = copyIfPresent(w.get(p + "self_attn.o_proj.bias"));
            L.gateB = copyIfPresent(w.get(p + "mlp.gate_proj.bias"));
            L.upB = copyIfPresent(w.get(p + "mlp.up_proj.bias"));
            L.downB = copyIfPresent(w.get(p + "mlp.down_proj.bias"));
            L.cacheK = keep(torch.zeros(new long[] {maxSeq, cfg.numKvHeads(), hd}, f32()));
            L.cacheV = keep(torch.zeros(new long[] {maxSeq, cfg.numKvHeads(), hd}, f32()));
            L.attnNormOpt = keep(new TensorOptional(L.attnNorm));
            L.ffnNormOpt = keep(new TensorOptional(L.ffnNorm));
        }
        int[] positions = new int[maxSeq];
        for (int i = 0; i < maxSeq; i++) positions[i] = i;
        float[][] cs = RopeBench.rowTables(positions, hd, cfg.rope().theta());
        cos = keep(Libtorch.floats(cs[0], maxSeq, 1, hd));
        sin = keep(Libtorch.floats(cs[1], maxSeq, 1, hd));
        noMask = keep(new TensorOptional());
        defaultScale = keep(new DoubleOptional());
        eps = keep(new DoubleOptional(cfg.rmsNormEps()));
        headAxis = keep(new LongOptional(1));
        normShape = new long[] {cfg.hiddenSize()};
        finalNormOpt = keep(new TensorOptional(finalNorm));
    }

    private static TensorOptions f32() {
        return new TensorOptions(torch.ScalarType.Float);
    }

    private org.bytedeco.pytorch.Tensor copy(Tensor t) {
        // the FloatPointer borrows the tensor's native memory; clone() takes the copy
        FloatPointer p = new FloatPointer(t.floats());
        return keep(torch.from_blob(p, t.shape(), f32()).clone());
    }

    private org.bytedeco.pytorch.Tensor copyIfPresent(Tensor t) {
        return t == null ? null : copy(t);
    }

    /** x w^T (+ b when the model has that bias). */
    private static org.bytedeco.pytorch.Tensor linear(org.bytedeco.pytorch.Tensor x, org.bytedeco.pytorch.Tensor w,
                                                      org.bytedeco.pytorch.Tensor b) {
        return b == null ? torch.linear(x, w) : torch.linear(x, w, b);
    }

    private <T extends Pointer> T keep(T p) {
        owned.add(p);
        return p;
    }

    /** Prefills the prompt, then returns n greedy tokens (the first comes from the prompt's logits). */
    int[] greedy(int[] prompt, int n) {
        int[] out = new int[n];
        try (InferenceMode guard = new InferenceMode()) {
            out[0] = step(prompt, 0);
            for (int i = 1; i < n; i++) out[i] = step(new int[] {out[i - 1]}, prompt.length + i - 1);
        }
        return out;
    }

    /** Appends tokens at positions pos.. to the cache and returns the argmax of the last one's logits. */
    private int step(int[] tokens, int pos) {
        int n = tokens.length, nh = cfg.numHeads(), nkv = cfg.numKvHeads(), hd = cfg.headDim();
        if (n > 1 && pos > 0) {
            // is_causal aligns the mask to the top-left corner: right only for a prefill from position 0
            throw new IllegalArgumentException("a multi-token step must start at position 0");
        }
        try (PointerScope scope = new PointerScope()) {
            var ids = Libtorch.longs(tokens, n);
            var cosRows = cos.narrow(0, pos, n);
            var sinRows = sin.narrow(0, pos, n);
            var x = torch.embedding(embed, ids);
            for (Layer L : layers) {
                var h = torch.rms_norm(x, normShape, L.attnNormOpt, eps);
                var q = RopeBench.rope(linear(h, L.q, L.qb).view(n, nh, hd), cosRows, sinRows, hd);
                var k = RopeBench.rope(linear(h, L.k, L.kb).view(n, nkv, hd), cosRows, sinRows, hd);
                var v = linear(h, L.v, L.vb).view(n, nkv, hd);
                L.cacheK.narrow(0, pos, n).copy_(k);
                L.cacheV.narrow(0, pos, n).copy_(v);
                var keys = L.cacheK.narrow(0, 0, pos + n).transpose(0, 1).unsqueeze(0);
                var values = L.cacheV.narrow(0, 0, pos + n).transpose(0, 1).unsqueeze(0);
                if (nh != nkv) {
                    keys = keys.repeat_interleave(nh / nkv, headAxis, new LongOptional());
                    values = values.repeat_interleave(nh / nkv, headAxis, new LongOptional());
                }
                var att = torch.scaled_dot_product_attention(q.transpose(0, 1).unsqueeze(0), keys, values, noMask,
                        0.0, n > 1, defaultScale, false);
                x = x.add(linear(att.squeeze(0).transpose(0, 1).reshape(n, nh * hd), L.o, L.ob));
                var h2 = torch.rms_norm(x, normShape, L.ffnNormOpt, eps);
                var mlp = torch.silu(linear(h2, L.gate, L.gateB)).mul(linear(h2, L.up, L.upB));
                x = x.add(linear(mlp, L.down, L.downB));
            }
            var last = torch.rms_norm(x.narrow(0, n - 1, 1), normShape, finalNormOpt, eps);
            return (int) torch.linear(last, head).argmax().item_long();
        }
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) owned.get(i).close();
        owned.clear();
    }
}
