package io.tune4j.model.arch;

import io.tune4j.model.LlamaConfig;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.TorchRef;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * An independent float64 libtorch forward of the Llama family as Hugging Face's modeling files define
 * it (modeling_llama, modeling_mistral, modeling_qwen2, modeling_qwen3, modeling_gemma2, modeling_gemma3,
 * modeling_phi3, whose fused qkv_proj and gate_up_proj are sliced here by libtorch):
 * embedding (Gemma: times sqrt(hidden_size)), per layer RMSNorm (Gemma: times 1 + w), q/k/v projections with
 * the family's biases, per-head q_norm/k_norm before rotate-half RoPE (Gemma 3's sliding layers with their
 * own base), causal grouped-query attention with the layer's sliding window, Gemma's query_pre_attn_scalar
 * and score soft-cap, o_proj, Gemma's post-attention norm, SwiGLU or tanh-GELU GeGLU MLP between Gemma's
 * pre- and post-feedforward norms; final RMSNorm, the LM head and Gemma 2's logit soft-cap. Nothing here
 * calls tune4j's kernels.
 */
final class ReferenceDecoder {
    final Map<String, org.bytedeco.pytorch.Tensor> w = new LinkedHashMap<>();
    private final LlamaConfig c;

    /** Every weight as a float64 autograd leaf. */
    ReferenceDecoder(LlamaConfig c, Map<String, Tensor> weights) {
        this.c = c;
        weights.forEach((k, v) -> w.put(k, TorchRef.of(v, true)));
    }

    /** Logits [B, T, V] of a batch of token ids [B*T] (positions 0..T-1 in each row). */
    org.bytedeco.pytorch.Tensor logits(int[] ids, int B, int T) {
        int d = c.hiddenSize(), nh = c.numHeads(), nkv = c.numKvHeads(), hd = c.headDim();
        BlockExtras xt = c.features().extras();
        boolean sandwich = xt.sandwichNorms();
        var x = torch.embedding(w.get(ModuleTable.EMBED_TOKENS), TorchRef.ofLongs(ids, B, T));
        // Gemma: hidden_size ** 0.5 as a tensor of the activations' dtype (float32 in an fp32 model)
        if (xt.scaleEmbeddings()) x = x.mul(new Scalar((double) (float) Math.sqrt(d)));
        var cos = rotary(T, hd, true, c.rope().theta());
        var sin = rotary(T, hd, false, c.rope().theta());
        var localCos = xt.localRopeTheta() > 0 ? rotary(T, hd, true, xt.localRopeTheta()) : cos;
        var localSin = xt.localRopeTheta() > 0 ? rotary(T, hd, false, xt.localRopeTheta()) : sin;
        double scale = xt.queryPreAttnScalar() > 0 ? Math.pow(xt.queryPreAttnScalar(), -0.5) : 1.0 / Math.sqrt(hd);
        for (int l = 0; l < c.numLayers(); l++) {
            int window = c.features().windowOf(l);
            var h = rms(x, lw(l, "input_layernorm.weight"), d);
            org.bytedeco.pytorch.Tensor q, k, v;
            if (c.features().fused()) {
                // Phi3Attention: qkv_proj's output sliced as [..., :q], [..., q:q+kv], [..., q+kv:]
                var qkv = proj(h, l, ModuleTable.Proj.QKV);
                long qDim = (long) nh * hd, kvDim = (long) nkv * hd;
                q = qkv.narrow(2, 0, qDim).reshape(B, T, nh, hd);
                k = qkv.narrow(2, qDim, kvDim).reshape(B, T, nkv, hd);
                v = qkv.narrow(2, qDim + kvDim, kvDim).reshape(B, T, nkv, hd);
            } else {
                q = proj(h, l, ModuleTable.Proj.Q).view(B, T, nh, hd);
                k = proj(h, l, ModuleTable.Proj.K).view(B, T, nkv, hd);
                v = proj(h, l, ModuleTable.Proj.V).view(B, T, nkv, hd);
            }
            if (c.features().qkNorm()) {
                q = rms(q, lw(l, "self_attn.q_norm.weight"), hd);
                k = rms(k, lw(l, "self_attn.k_norm.weight"), hd);
            }
            var lc = window > 0 ? localCos : cos;
            var ls = window > 0 ? localSin : sin;
            q = rope(q, lc, ls, hd).transpose(1, 2);  // [B, nh, T, hd]
            k = repeatKv(rope(k, lc, ls, hd).transpose(1, 2), nh / nkv);
            v = repeatKv(v.transpose(1, 2), nh / nkv);
            var scores = q.matmul(k.transpose(2, 3)).mul(new Scalar(scale));
            if (xt.attnSoftcap() > 0) scores = softcap(scores, xt.attnSoftcap());
            scores = scores.add(mask(T, window));
            var att = torch.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(B, T, (long) nh * hd);
            var attOut = proj(att, l, ModuleTable.Proj.O);
            if (sandwich) attOut = rms(attOut, lw(l, "post_attention_layernorm.weight"), d);
            x = x.add(attOut);
            var h2 = rms(x, lw(l, sandwich ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), d);
            org.bytedeco.pytorch.Tensor gate, up;
            if (c.features().fused()) {
                // Phi3MLP: gate, up = gate_up_proj(x).chunk(2, dim=-1)
                var gu = proj(h2, l, ModuleTable.Proj.GATE_UP);
                long I = c.intermediateSize();
                gate = gu.narrow(2, 0, I);
                up = gu.narrow(2, I, I);
            } else {
                gate = proj(h2, l, ModuleTable.Proj.GATE);
                up = proj(h2, l, ModuleTable.Proj.UP);
            }
            var act = c.gatedGelu() ? torch.gelu(gate, "tanh") : torch.silu(gate);
            var mlp = proj(act.mul(up), l, ModuleTable.Proj.DOWN);
            if (sandwich) mlp = rms(mlp, lw(l, "post_feedforward_layernorm.weight"), d);
            x = x.add(mlp);
        }
        var hf = rms(x, w.get(ModuleTable.NORM), d);
        var head = c.tieWordEmbeddings() ? w.get(ModuleTable.EMBED_TOKENS) : w.get(ModuleTable.LM_HEAD);
        var logits = hf.matmul(head.t());
        return xt.finalSoftcap() > 0 ? softcap(logits, xt.finalSoftcap()) : logits;
    }

    // Gemma 2: cap * tanh(x / cap)
    private static org.bytedeco.pytorch.Tensor softcap(org.bytedeco.pytorch.Tensor x, double cap) {
        return torch.tanh(x.div(new Scalar(cap))).mul(new Scalar(cap));
    }

    /** Mean cross-entropy of logits [B, T, V] against targets [B*T] (-100: not counted). */
    static org.bytedeco.pytorch.Tensor meanLoss(org.bytedeco.pytorch.Tensor logits, int[] targets, int V) {
        float[] pick = new float[targets.length * V];
        int n = 0;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] < 0) continue;
            pick[i * V + targets[i]] = 1f;
            n++;
        }
        var onehot = TorchRef.of(pick, false, targets.length, V);
        var logp = torch.log_softmax(logits.reshape(targets.length, V), 1);
        return logp.mul(onehot).sum().mul(new Scalar(-1.0 / n));
    }

    private org.bytedeco.pytorch.Tensor lw(int l, String suffix) {
        return w.get(ModuleTable.layer(l, suffix));
    }

    private org.bytedeco.pytorch.Tensor proj(org.bytedeco.pytorch.Tensor x, int l, ModuleTable.Proj p) {
        var y = x.matmul(lw(l, p.path() + ".weight").t());
        var b = w.get(ModuleTable.layer(l, p.path() + ".bias"));
        return b == null ? y : y.add(b);
    }

    // Gemma's RMSNorm scales by (1 + w): its weights are stored as offsets from 1
    private org.bytedeco.pytorch.Tensor rms(org.bytedeco.pytorch.Tensor x, org.bytedeco.pytorch.Tensor weight, long n) {
        float offset = c.features().extras().normOffset();
        var scale = offset == 0 ? weight : weight.add(new Scalar((double) offset));
        return torch.rms_norm(x, new long[] {n}, new TensorOptional(scale), new DoubleOptional(c.rmsNormEps()));
    }

    // HF's rotate_half: x * cos + cat(-x2, x1) * sin, cos/sin repeated over both halves
    private static org.bytedeco.pytorch.Tensor rope(org.bytedeco.pytorch.Tensor x, org.bytedeco.pytorch.Tensor cos,
                                                    org.bytedeco.pytorch.Tensor sin, int hd) {
        var x1 = x.narrow(3, 0, hd / 2);
        var x2 = x.narrow(3, hd / 2, hd / 2);
        var rotated = torch.cat(new TensorVector(x2.neg(), x1), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }

    /** [T, 1, hd] cos or sin of position * theta^(-2i/hd), each frequency twice (both halves). */
    private static org.bytedeco.pytorch.Tensor rotary(int T, int hd, boolean cos, double theta) {
        float[] out = new float[T * hd];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < hd / 2; i++) {
                double a = t * Math.pow(theta, -2.0 * i / hd);
                out[t * hd + i] = out[t * hd + i + hd / 2] = (float) (cos ? Math.cos(a) : Math.sin(a));
            }
        }
        return TorchRef.of(out, false, T, 1, hd);
    }

    private static org.bytedeco.pytorch.Tensor repeatKv(org.bytedeco.pytorch.Tensor x, int groups) {
        return groups == 1 ? x : x.repeat_interleave(groups, new LongOptional(1), new LongOptional());
    }

    /** Additive [T, T] mask: query i sees key j when j <= i and, with a window, i - j < window. */
    private static org.bytedeco.pytorch.Tensor mask(int T, int window) {
        float[] m = new float[T * T];
        for (int i = 0; i < T; i++) {
            for (int j = 0; j < T; j++) {
                boolean visible = j <= i && (window == 0 || i - j < window);
                m[i * T + j] = visible ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
        return TorchRef.of(m, false, T, T);
    }
}
