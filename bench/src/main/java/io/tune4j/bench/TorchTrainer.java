package io.tune4j.bench;

import io.tune4j.model.LlamaConfig;
import io.tune4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One training step of the same Llama model written against libtorch's autograd, as a Java user
 * of the PyTorch preset would: forward over a [B,T] batch (LoRA adapters on all seven projections
 * or every weight trainable), mean cross-entropy, backward, torch::optim::AdamW. Projection biases
 * (Qwen2's q/k/v) are read from the weights when present; the LM head is the embedding when tied.
 */
final class TorchTrainer implements AutoCloseable {
    private static final String[] MODULES = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    private final LlamaConfig cfg;
    private final int B, T, rank;
    private final float scale;
    private final boolean lora;
    private final List<Pointer> owned = new ArrayList<>();
    private final List<org.bytedeco.pytorch.Tensor> trainable = new ArrayList<>();
    private final org.bytedeco.pytorch.Tensor embed, finalNorm, head, headMatrix, cos, sin;
    private final Layer[] layers;
    private final TensorOptional noMask, finalNormOpt;
    private final DoubleOptional defaultScale, eps;
    private final LongOptional headAxis;
    private final long[] normShape;
    private final AdamW optimizer;

    private static final class Layer {
        org.bytedeco.pytorch.Tensor attnNorm, ffnNorm;
        org.bytedeco.pytorch.Tensor[] w = new org.bytedeco.pytorch.Tensor[7];
        /** Projection biases where the model has them (Qwen2: q, k, v), else null. */
        org.bytedeco.pytorch.Tensor[] bias = new org.bytedeco.pytorch.Tensor[7];
        org.bytedeco.pytorch.Tensor[] a = new org.bytedeco.pytorch.Tensor[7];
        org.bytedeco.pytorch.Tensor[] b = new org.bytedeco.pytorch.Tensor[7];
        TensorOptional attnNormOpt, ffnNormOpt;
    }

    TorchTrainer(LlamaConfig cfg, Map<String, Tensor> w, boolean lora, int rank, float alpha, int B, int T) {
        Libtorch.requireLlamaBlock(cfg);
        this.cfg = cfg;
        this.B = B;
        this.T = T;
        this.lora = lora;
        this.rank = rank;
        this.scale = alpha / rank;
        embed = param(w.get("model.embed_tokens.weight"), !lora);
        finalNorm = param(w.get("model.norm.weight"), !lora);
        head = cfg.tieWordEmbeddings() ? embed : param(w.get("lm_head.weight"), !lora);
        headMatrix = lora ? frozen(head) : head;
        layers = new Layer[cfg.numLayers()];
        long seed = 7;
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            Layer L = layers[l] = new Layer();
            L.attnNorm = param(w.get(p + "input_layernorm.weight"), !lora);
            L.ffnNorm = param(w.get(p + "post_attention_layernorm.weight"), !lora);
            for (int m = 0; m < 7; m++) {
                String name = p + (m < 4 ? "self_attn." : "mlp.") + MODULES[m] + ".weight";
                Tensor wt = w.get(name);
                L.w[m] = param(wt, !lora);
                if (lora) L.w[m] = frozen(L.w[m]);
                // a bias trains with full fine-tuning and stays frozen under LoRA (PEFT's bias="none"), as in tune4j
                Tensor bt = w.get(name.substring(0, name.length() - ".weight".length()) + ".bias");
                if (bt != null) L.bias[m] = param(bt, !lora);
                if (lora) {
                    int out = Math.toIntExact(wt.dim(0)), in = Math.toIntExact(wt.dim(1));
                    float bound = (float) (1 / Math.sqrt(in));
                    L.a[m] = trainableLeaf(Env.normal(seed++, (long) rank * in, bound), rank, in);
                    // B starts small but non-zero so that the benchmark's backward does real work in every term
                    L.b[m] = trainableLeaf(Env.normal(seed++, (long) out * rank, 1e-3f), out, rank);
                }
            }
            L.attnNormOpt = keep(new TensorOptional(L.attnNorm));
            L.ffnNormOpt = keep(new TensorOptional(L.ffnNorm));
        }
        int[] positions = new int[T];
        for (int i = 0; i < T; i++) positions[i] = i;
        float[][] cs = RopeBench.rowTables(positions, cfg.headDim(), cfg.rope().theta());
        cos = keep(Libtorch.floats(cs[0], T, 1, cfg.headDim()));
        sin = keep(Libtorch.floats(cs[1], T, 1, cfg.headDim()));
        noMask = keep(new TensorOptional());
        defaultScale = keep(new DoubleOptional());
        eps = keep(new DoubleOptional(cfg.rmsNormEps()));
        headAxis = keep(new LongOptional(2));
        normShape = new long[] {cfg.hiddenSize()};
        finalNormOpt = keep(new TensorOptional(finalNorm));
        AdamWOptions options = keep(new AdamWOptions(1e-4));
        options.weight_decay().put(0.0);
        optimizer = keep(new AdamW(keep(new TensorVector(trainable.toArray(new org.bytedeco.pytorch.Tensor[0]))), options));
    }

    private org.bytedeco.pytorch.Tensor param(Tensor t, boolean requiresGrad) {
        // the FloatPointer borrows tune4j's native memory; clone() gives libtorch its own copy
        FloatPointer p = new FloatPointer(t.floats());
        org.bytedeco.pytorch.Tensor out = keep(torch.from_blob(p, t.shape(), new TensorOptions(torch.ScalarType.Float)).clone());
        if (requiresGrad) {
            out.set_requires_grad(true);
            trainable.add(out);
        }
        return out;
    }

    private org.bytedeco.pytorch.Tensor trainableLeaf(float[] values, long... shape) {
        org.bytedeco.pytorch.Tensor t = keep(Libtorch.floats(values, shape));
        t.set_requires_grad(true);
        trainable.add(t);
        return t;
    }

    /** LoRA's frozen base weights in the run's precision (a bf16 copy under bf16). */
    private org.bytedeco.pytorch.Tensor frozen(org.bytedeco.pytorch.Tensor w) {
        org.bytedeco.pytorch.Tensor f = Libtorch.frozen(w);
        return f == w ? w : keep(f);
    }

    private <P extends Pointer> P keep(P p) {
        owned.add(p);
        return p;
    }

    long trainableParameters() {
        long n = 0;
        for (var t : trainable) n += t.numel();
        return n;
    }

    private org.bytedeco.pytorch.Tensor project(org.bytedeco.pytorch.Tensor h, Layer L, int m) {
        var y = Libtorch.linear(h, L.w[m], L.bias[m]);
        if (!lora) return y;
        return y.add(Libtorch.linear(Libtorch.linear(h, L.a[m]), L.b[m]).mul(new org.bytedeco.pytorch.Scalar(scale)));
    }

    /** Forward, backward and one AdamW update; returns the mean loss. */
    double step(org.bytedeco.pytorch.Tensor ids, org.bytedeco.pytorch.Tensor targets) {
        int nh = cfg.numHeads(), nkv = cfg.numKvHeads(), hd = cfg.headDim(), V = cfg.vocabSize();
        try (PointerScope scope = new PointerScope()) {
            optimizer.zero_grad();
            var x = torch.embedding(embed, ids); // [B,T,d]
            for (Layer L : layers) {
                var h = torch.rms_norm(x, normShape, L.attnNormOpt, eps);
                var q = RopeBench.rope(project(h, L, 0).view(B, T, nh, hd), cos, sin, hd).transpose(1, 2);
                var k = RopeBench.rope(project(h, L, 1).view(B, T, nkv, hd), cos, sin, hd);
                var v = project(h, L, 2).view(B, T, nkv, hd);
                if (nh != nkv) {
                    k = k.repeat_interleave(nh / nkv, headAxis, new LongOptional());
                    v = v.repeat_interleave(nh / nkv, headAxis, new LongOptional());
                }
                var att = torch.scaled_dot_product_attention(q, k.transpose(1, 2), v.transpose(1, 2), noMask, 0.0, true,
                        defaultScale, false);
                x = x.add(project(att.transpose(1, 2).reshape(B, T, nh * hd), L, 3));
                var h2 = torch.rms_norm(x, normShape, L.ffnNormOpt, eps);
                var mlp = torch.silu(project(h2, L, 4)).mul(project(h2, L, 5));
                x = x.add(project(mlp, L, 6));
            }
            var hf = torch.rms_norm(x, normShape, finalNormOpt, eps);
            var logits = Libtorch.linear(hf, headMatrix).view(B * T, V);
            var loss = torch.cross_entropy(logits, targets);
            loss.backward();
            optimizer.step();
            return loss.item_double();
        }
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) owned.get(i).close();
        owned.clear();
    }
}
