package io.tune4j.model.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.RandomWeights;
import io.tune4j.model.TrainingContext;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Rand;
import io.tune4j.testing.TorchRef;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each supported family, as a small random-weight model read from its own config.json, against the
 * float64 libtorch {@link ReferenceDecoder}: logits at every position, the loss and the gradient of
 * every parameter (full fine-tuning), and the logits of a cached decode, token by token, past the
 * sliding window. Errors are norm-wise, relative to the reference tensor.
 */
class ArchitectureReferenceTest {
    static final double TOL = 1e-5;
    static final int B = 2, T = 13;

    static Stream<Arguments> families() {
        String common = "\"vocab_size\": 37, \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 3, "
                + "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 64, "
                + "\"rms_norm_eps\": 1e-6, \"rope_theta\": 10000.0, ";
        List<String[]> configs = List.of(
                new String[] {"llama", "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"], " + common
                        + "\"tie_word_embeddings\": false}"},
                new String[] {"llama with attention_bias", "{\"model_type\": \"llama\", " + common
                        + "\"attention_bias\": true, \"tie_word_embeddings\": true}"},
                new String[] {"mistral, window 5", "{\"model_type\": \"mistral\", \"architectures\": [\"MistralForCausalLM\"], "
                        + common + "\"sliding_window\": 5, \"tie_word_embeddings\": false}"},
                new String[] {"qwen2 (tied, as Qwen2.5-0.5B)", "{\"model_type\": \"qwen2\", \"architectures\": [\"Qwen2ForCausalLM\"], "
                        + common + "\"use_sliding_window\": false, \"sliding_window\": 4, \"max_window_layers\": 1, "
                        + "\"tie_word_embeddings\": true}"},
                new String[] {"qwen2, sliding layers 1-2", "{\"model_type\": \"qwen2\", " + common
                        + "\"use_sliding_window\": true, \"sliding_window\": 4, \"max_window_layers\": 1, "
                        + "\"tie_word_embeddings\": false}"},
                new String[] {"qwen3, head_dim 12", "{\"model_type\": \"qwen3\", \"architectures\": [\"Qwen3ForCausalLM\"], "
                        + common + "\"head_dim\": 12, \"attention_bias\": false, \"tie_word_embeddings\": true}"},
                new String[] {"qwen3 with layer_types", "{\"model_type\": \"qwen3\", " + common + "\"head_dim\": 8, "
                        + "\"sliding_window\": 6, \"layer_types\": [\"sliding_attention\", \"full_attention\", "
                        + "\"sliding_attention\"], \"tie_word_embeddings\": false}"},
                // caps small enough that tanh bends at these weights' scores and logits
                new String[] {"gemma2, caps 1 and 2", "{\"model_type\": \"gemma2\", \"architectures\": [\"Gemma2ForCausalLM\"], "
                        + common + "\"head_dim\": 8, \"query_pre_attn_scalar\": 5, \"attn_logit_softcapping\": 1.0, "
                        + "\"final_logit_softcapping\": 2.0, \"sliding_window\": 4, "
                        + "\"hidden_activation\": \"gelu_pytorch_tanh\", \"tie_word_embeddings\": true}"},
                new String[] {"gemma3_text, local RoPE base 100", "{\"model_type\": \"gemma3_text\", "
                        + "\"architectures\": [\"Gemma3ForCausalLM\"], " + common + "\"head_dim\": 12, "
                        + "\"query_pre_attn_scalar\": 12, \"sliding_window\": 5, \"sliding_window_pattern\": 2, "
                        + "\"rope_local_base_freq\": 100.0, \"attn_logit_softcapping\": null, "
                        + "\"final_logit_softcapping\": null, \"tie_word_embeddings\": true}"},
                // GQA (unlike the released Phi-3-mini) so that k and v are narrower than q in the fused rows
                new String[] {"phi3, window 5", "{\"model_type\": \"phi3\", \"architectures\": [\"Phi3ForCausalLM\"], "
                        + common + "\"hidden_act\": \"silu\", \"sliding_window\": 5, \"rope_scaling\": null, "
                        + "\"tie_word_embeddings\": false}"},
                new String[] {"phi3, full attention, tied", "{\"model_type\": \"phi3\", " + common
                        + "\"sliding_window\": null, \"tie_word_embeddings\": true}"});
        return io.tune4j.testing.Backends.all().stream()
                .flatMap(ops -> configs.stream().map(c -> Arguments.of(ops, c[0], c[1])));
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("families")
    void logitsGradientsAndCachedDecodeMatchTheReference(Ops ops, String name, String json) throws Exception {
        LlamaConfig cfg = LlamaConfigReader.parse(Path.of(name + "/config.json"), new ObjectMapper().readTree(json));
        Rand rnd = new Rand();
        String what = name + " " + rnd;
        try (Arena arena = new Arena()) {
            // std 0.2: at 0.3 a layer gains ~1.7x and peaked softmaxes amplify fp32 roundoff in layer 0's
            // gradients to ~1e-5 of their norm, which measures the random model, not the kernels
            Map<String, Tensor> weights = RandomWeights.create(cfg, rnd.seed, 0.2f, arena);
            // norm scales drawn away from 1, so that a norm weight applied to the wrong rows shows
            // (Gemma's weights are offsets from a scale of 1)
            float one = 1f - cfg.features().extras().normOffset();
            for (Map.Entry<String, Tensor> e : weights.entrySet()) {
                if (!e.getKey().endsWith("norm.weight")) continue;
                float[] vals = rnd.normal((int) e.getValue().numel(), 0.3);
                for (int i = 0; i < vals.length; i++) vals[i] += one;
                e.getValue().floats().put(vals);
            }
            LlamaModel model = LlamaModel.fromWeights(cfg, weights, ops);
            int V = cfg.vocabSize();
            int[] ids = new int[B * T], targets = new int[B * T];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = rnd.nextInt(V);
                targets[i] = i % 5 == 4 ? -100 : rnd.nextInt(V);
            }

            // ---- reference ----
            ReferenceDecoder ref = new ReferenceDecoder(cfg, weights);
            var refLogits = ref.logits(ids, B, T);
            var refLoss = ReferenceDecoder.meanLoss(refLogits, targets, V);
            refLoss.backward(new org.bytedeco.pytorch.Tensor(), new BoolOptional(), false, new TensorArrayRefOptional());

            // ---- tune4j: every parameter trains ----
            List<Parameter> params = model.parameters();
            for (Parameter p : params) p.requireGrad();
            try (TrainingContext c = model.newTrainingContext(B, T)) {
                c.setBatch(ids, targets, null, null);
                model.zeroGrad();
                LlamaModel.Loss loss = model.forwardBackward(c, 0f);
                var ours = TorchRef.of(c.finalHidden(), false).matmul(TorchRef.of(model.lmHead().value(), false).t());
                float cap = cfg.features().extras().finalSoftcap(); // the fused loss applies it; the logits here need it too
                if (cap > 0) ours = torch.tanh(ours.div(new Scalar(cap))).mul(new Scalar(cap));
                close(what + " logits", TorchRef.values(ours), TorchRef.values(refLogits.reshape(B * T, V)));
                double r = TorchRef.values(refLoss)[0];
                assertEquals(r, loss.mean(), TOL * Math.abs(r), what + " loss");
                for (Parameter p : params) {
                    double[] g = TorchRef.values(ref.w.get(p.name()).grad());
                    // softmax ignores a shift shared by all keys, so k_proj's bias gradient is what RoPE's
                    // rotation leaves of a cancelling sum: measured against its weight gradient's scale
                    double[] mine = doubles(p.grad());
                    if (p.name().endsWith("k_proj.bias")) {
                        double scale = maxAbs(TorchRef.values(ref.w.get(p.name().replace(".bias", ".weight")).grad()));
                        close(what + " d " + p.name(), mine, g, scale);
                    } else {
                        close(what + " d " + p.name(), mine, g);
                    }
                }
            } finally {
                for (Parameter p : params) p.freeze();
            }

            // ---- cached decode: prefill 3 tokens, then one at a time past the window ----
            double[] all = TorchRef.values(refLogits);
            try (InferenceContext ic = model.newInferenceContext(1, T, T)) {
                int prefill = 3;
                int[] prompt = java.util.Arrays.copyOf(ids, prefill);
                Tensor lg = model.step(ic, new int[] {0}, new int[][] {prompt}, new int[] {0});
                closeRow(what + " cached logits at " + (prefill - 1), lg, all, prefill - 1, V);
                for (int pos = prefill; pos < T; pos++) {
                    lg = model.step(ic, new int[] {0}, new int[][] {{ids[pos]}}, new int[] {pos});
                    closeRow(what + " cached logits at " + pos, lg, all, pos, V);
                }
            }
        }
    }

    private static double[] doubles(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    private static void closeRow(String what, Tensor got, double[] refAll, int pos, int V) {
        double[] row = java.util.Arrays.copyOfRange(refAll, pos * V, (pos + 1) * V); // sequence 0
        float[] g = got.toFloatArray();
        double[] gd = new double[V];
        for (int i = 0; i < V; i++) gd[i] = g[i];
        close(what, gd, row);
    }

    private static double maxAbs(double[] x) {
        double m = 0;
        for (double v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    /** Norm-wise relative error, ||got - ref|| / ||ref||: fp32 roundoff grows through the layers of backward. */
    private static void close(String what, double[] got, double[] ref) {
        assertEquals(ref.length, got.length, what + ": size");
        double err = 0, norm = 0;
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Double.isFinite(got[i]), what + ": element " + i + " is " + got[i]);
            err += (got[i] - ref[i]) * (got[i] - ref[i]);
            norm += ref[i] * ref[i];
        }
        assertTrue(norm > 0, what + ": the reference is all zero");
        double rel = Math.sqrt(err / norm);
        assertTrue(rel <= TOL, what + ": relative error " + rel + " (||got - ref|| / ||ref||, tolerance " + TOL + ")");
    }

    /** Largest error against a given scale, for a tensor whose own values are a cancelling sum. */
    private static void close(String what, double[] got, double[] ref, double scale) {
        assertEquals(ref.length, got.length, what + ": size");
        double err = 0;
        for (int i = 0; i < ref.length; i++) {
            err = Math.max(err, Math.abs(got[i] - ref[i]));
            assertTrue(Double.isFinite(got[i]), what + ": element " + i + " is " + got[i]);
        }
        assertTrue(scale > 0, what + ": the reference is all zero");
        assertTrue(err <= TOL * scale, what + ": max error " + err + " against " + scale
                + " (relative " + err / scale + ", tolerance " + TOL + ")");
    }
}
