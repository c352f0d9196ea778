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
import io.tune4j.testing.FamilyConfigs;
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
        List<String[]> configs = FamilyConfigs.all();
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
            ReferenceDecoder ref = new ReferenceDecoder(new ObjectMapper().readTree(json), weights);
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
