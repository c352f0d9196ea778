package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.JsonNode;
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
 * pre- and post-feedforward norms; final RMSNorm, the LM head and Gemma 2's logit soft-cap. RoPE
 * frequencies follow rope_scaling (linear, llama3). Nothing here calls tune4j's kernels or reads tune4j's
 * config: {@link HfSpec} reads config.json itself, and the weights are addressed by Hugging Face's names.
 */
final class ReferenceDecoder {
    final Map<String, org.bytedeco.pytorch.Tensor> w = new LinkedHashMap<>();
    final HfSpec c;

    /**
     * Every weight as a float64 autograd leaf. The weights must be exactly those a Hugging Face checkpoint
     * of this config holds, by name and shape.
     */
    ReferenceDecoder(JsonNode config, Map<String, Tensor> weights) {
        this.c = HfSpec.of(config);
        Map<String, long[]> expected = c.weightShapes();
        if (!expected.keySet().equals(weights.keySet())) {
            java.util.Set<String> missing = new java.util.TreeSet<>(expected.keySet()), extra = new java.util.TreeSet<>(weights.keySet());
            missing.removeAll(weights.keySet());
            extra.removeAll(expected.keySet());
            throw new AssertionError(c.type() + ": weight names differ from Hugging Face's: missing " + missing + ", unexpected " + extra);
        }
        expected.forEach((k, shape) -> {
            if (!java.util.Arrays.equals(shape, weights.get(k).shape())) {
                throw new AssertionError(k + ": shape " + java.util.Arrays.toString(weights.get(k).shape())
                        + ", Hugging Face's is " + java.util.Arrays.toString(shape));
            }
        });
        weights.forEach((k, v) -> w.put(k, TorchRef.of(v, true)));
    }

    /** Logits [B, T, V] of a batch of token ids [B*T] (positions 0..T-1 in each row). */
    org.bytedeco.pytorch.Tensor logits(int[] ids, int B, int T) {
        int d = c.hidden(), nh = c.heads(), nkv = c.kvHeads(), hd = c.headDim();
        var x = torch.embedding(w.get("model.embed_tokens.weight"), TorchRef.ofLongs(ids, B, T));
        // Gemma: hidden_size ** 0.5 as a tensor of the activations' dtype (float32 in an fp32 model)
        if (c.gemma()) x = x.mul(new Scalar((double) (float) Math.sqrt(d)));
        var cos = rotary(T, hd, true, c.theta(), c.invFreqScale());
        var sin = rotary(T, hd, false, c.theta(), c.invFreqScale());
        // Gemma 3's sliding layers: their own base, unscaled
        double[] unscaled = new double[hd / 2];
        java.util.Arrays.fill(unscaled, 1.0);
        var localCos = c.localTheta() > 0 ? rotary(T, hd, true, c.localTheta(), unscaled) : cos;
        var localSin = c.localTheta() > 0 ? rotary(T, hd, false, c.localTheta(), unscaled) : sin;
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l + ".";
            int window = c.window()[l];
            var h = rms(x, w.get(p + "input_layernorm.weight"), d);
            org.bytedeco.pytorch.Tensor q, k, v;
            if (c.fused()) {
                // Phi3Attention: qkv_proj's output sliced as [..., :q], [..., q:q+kv], [..., q+kv:]
                var qkv = proj(h, p + "self_attn.qkv_proj");
                long qDim = (long) nh * hd, kvDim = (long) nkv * hd;
                q = qkv.narrow(2, 0, qDim).reshape(B, T, nh, hd);
                k = qkv.narrow(2, qDim, kvDim).reshape(B, T, nkv, hd);
                v = qkv.narrow(2, qDim + kvDim, kvDim).reshape(B, T, nkv, hd);
            } else {
                q = proj(h, p + "self_attn.q_proj").view(B, T, nh, hd);
                k = proj(h, p + "self_attn.k_proj").view(B, T, nkv, hd);
                v = proj(h, p + "self_attn.v_proj").view(B, T, nkv, hd);
            }
            if (c.qkNorm()) {
                q = rms(q, w.get(p + "self_attn.q_norm.weight"), hd);
                k = rms(k, w.get(p + "self_attn.k_norm.weight"), hd);
            }
            boolean local = c.gemma3() && window > 0;
            var lc = local ? localCos : cos;
            var ls = local ? localSin : sin;
            q = rope(q, lc, ls, hd).transpose(1, 2);  // [B, nh, T, hd]
            k = repeatKv(rope(k, lc, ls, hd).transpose(1, 2), nh / nkv);
            v = repeatKv(v.transpose(1, 2), nh / nkv);
            var scores = q.matmul(k.transpose(2, 3)).mul(new Scalar(c.attnScale()));
            if (c.attnCap() > 0) scores = softcap(scores, c.attnCap());
            scores = scores.add(mask(T, window));
            var att = torch.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(B, T, (long) nh * hd);
            var attOut = proj(att, p + "self_attn.o_proj");
            if (c.gemma()) attOut = rms(attOut, w.get(p + "post_attention_layernorm.weight"), d);
            x = x.add(attOut);
            var h2 = rms(x, w.get(p + (c.gemma() ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight")), d);
            org.bytedeco.pytorch.Tensor gate, up;
            if (c.fused()) {
                // Phi3MLP: gate, up = gate_up_proj(x).chunk(2, dim=-1)
                var gu = proj(h2, p + "mlp.gate_up_proj");
                long I = c.inter();
                gate = gu.narrow(2, 0, I);
                up = gu.narrow(2, I, I);
            } else {
                gate = proj(h2, p + "mlp.gate_proj");
                up = proj(h2, p + "mlp.up_proj");
            }
            var act = c.gelu() ? torch.gelu(gate, "tanh") : torch.silu(gate);
            var mlp = proj(act.mul(up), p + "mlp.down_proj");
            if (c.gemma()) mlp = rms(mlp, w.get(p + "post_feedforward_layernorm.weight"), d);
            x = x.add(mlp);
        }
        var hf = rms(x, w.get("model.norm.weight"), d);
        var head = c.tie() ? w.get("model.embed_tokens.weight") : w.get("lm_head.weight");
        var logits = hf.matmul(head.t());
        return c.finalCap() > 0 ? softcap(logits, c.finalCap()) : logits;
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

    private org.bytedeco.pytorch.Tensor proj(org.bytedeco.pytorch.Tensor x, String module) {
        var y = x.matmul(w.get(module + ".weight").t());
        var b = w.get(module + ".bias");
        return b == null ? y : y.add(b);
    }

    // Gemma's RMSNorm scales by (1 + w): its weights are stored as offsets from 1
    private org.bytedeco.pytorch.Tensor rms(org.bytedeco.pytorch.Tensor x, org.bytedeco.pytorch.Tensor weight, long n) {
        var scale = c.gemma() ? weight.add(new Scalar(1.0)) : weight;
        return torch.rms_norm(x, new long[] {n}, new TensorOptional(scale), new DoubleOptional(c.eps()));
    }

    // HF's rotate_half: x * cos + cat(-x2, x1) * sin, cos/sin repeated over both halves
    private static org.bytedeco.pytorch.Tensor rope(org.bytedeco.pytorch.Tensor x, org.bytedeco.pytorch.Tensor cos,
                                                    org.bytedeco.pytorch.Tensor sin, int hd) {
        var x1 = x.narrow(3, 0, hd / 2);
        var x2 = x.narrow(3, hd / 2, hd / 2);
        var rotated = torch.cat(new TensorVector(x2.neg(), x1), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }

    /** [T, 1, hd] cos or sin of position * theta^(-2i/hd) / scale[i], each frequency twice (both halves). */
    private static org.bytedeco.pytorch.Tensor rotary(int T, int hd, boolean cos, double theta, double[] scale) {
        float[] out = new float[T * hd];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < hd / 2; i++) {
                double a = t * Math.pow(theta, -2.0 * i / hd) / scale[i];
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
