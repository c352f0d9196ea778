package io.tune4j.export;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.Parameter;
import io.tune4j.ops.Ops;
import io.tune4j.ops.RopeScaling;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.MergedWeight;
import io.tune4j.peft.Merger;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A loaded model (with a LoRA merged in on the way) as one GGUF file llama.cpp can run, in the
 * llama.cpp architecture of its family ({@link GgufFamily}): architecture and tokenizer metadata,
 * and every weight under llama.cpp's name. Merged weights
 * are computed one at a time while the file is written, so at most one extra matrix is in memory.
 */
public final class GgufExporter {
    private GgufExporter() {}

    /**
     * @param stored     matrices stored in the requested type; fellBackToF16 those whose rows are not
     *                   whole q8_0 blocks, stored as f16 (as llama.cpp's converter does)
     */
    public record Result(Path file, int tensors, long bytes, int stored, List<String> fellBackToF16) {}

    // the writer streams rows straight from host memory, so an export runs on a model loaded on the CPU
    static void requireHost(LoadedModel m) {
        if (m.model().ops().device() != io.tune4j.tensor.Device.CPU) {
            throw new IllegalArgumentException("GGUF export reads the weights from host memory: load the model on the CPU "
                    + "(it is on " + m.model().ops().name() + ")");
        }
    }

    public static Result export(LoadedModel m, FineTuneMethod method, GgufType dtype, String name, Path out) {
        requireHost(m);
        LlamaConfig c = m.config();
        GgufFamily family = GgufFamily.of(c, m.source());
        Map<String, MergedWeight> merged = Merger.mergeableSites(method);
        GgufWriter w = new GgufWriter();
        writeArchitecture(w, c, family, dtype, name);
        GgufTokenizer.of(m.tokenizer(), c.vocabSize()).writeTo(w);

        Map<String, Parameter> weights = new HashMap<>();
        for (Parameter p : m.model().parameters()) weights.put(p.name(), p);
        Ops ops = m.model().ops();
        List<String> fellBack = new ArrayList<>();
        int stored = 0;
        for (Map.Entry<String, String> e : LlamaGgufMapping.names(c).entrySet()) {
            String hf = e.getKey(), gguf = e.getValue();
            Parameter p = weights.get(hf);
            if (p == null) throw new IllegalStateException("the model has no weight " + hf);
            long[] shape = p.value().shape();
            int heads = LlamaGgufMapping.ropeHeads(hf, c, family);
            float offset = LlamaGgufMapping.normOffset(hf, c);
            MergedWeight folded = merged.get(hf);
            Supplier<GgufWriter.RowReader> data = folded != null
                    ? () -> mergedRows(ops, folded, heads, offset)
                    : () -> rows(p.value(), heads, offset, null);
            if (shape.length == 1) {
                w.addVector(gguf, shape[0], data);
                continue;
            }
            GgufType t = dtype;
            if (shape[1] % t.blockSize != 0) {
                t = GgufType.F16;
                fellBack.add(gguf);
            } else {
                stored++;
            }
            w.addMatrix(gguf, shape[0], shape[1], t, data);
        }
        if (c.rope().type() == RopeScaling.Type.LLAMA3) {
            float[] f = llama3RopeFactors(c.rope(), c.headDim());
            w.addVector("rope_freqs.weight", f.length, () -> (r, dst) -> System.arraycopy(f, 0, dst, 0, f.length));
        }
        w.write(out);
        long bytes;
        try {
            bytes = Files.size(out);
        } catch (java.io.IOException ex) {
            bytes = -1;
        }
        return new Result(out, w.tensorCount(), bytes, stored, fellBack);
    }

    static void writeArchitecture(GgufWriter w, LlamaConfig c, GgufFamily family, GgufType dtype, String name) {
        String a = family.arch;
        w.putString("general.architecture", a);
        w.putString("general.name", name);
        w.putU32("general.file_type", dtype.fileType);
        w.putU32("general.alignment", GgufWriter.ALIGNMENT);
        w.putU32(a + ".context_length", c.maxPositions());
        w.putU32(a + ".embedding_length", c.hiddenSize());
        w.putU32(a + ".block_count", c.numLayers());
        w.putU32(a + ".feed_forward_length", c.intermediateSize());
        w.putU32(a + ".attention.head_count", c.numHeads());
        w.putU32(a + ".attention.head_count_kv", c.numKvHeads());
        w.putF32(a + ".attention.layer_norm_rms_epsilon", c.rmsNormEps());
        if (c.headDim() * c.numHeads() != c.hiddenSize() || family.isGemma()) {
            // llama.cpp assumes hidden_size / heads unless told (Gemma's head_dim seldom is)
            w.putU32(a + ".attention.key_length", c.headDim());
            w.putU32(a + ".attention.value_length", c.headDim());
        }
        w.putF32(a + ".rope.freq_base", c.rope().theta());
        w.putU32(a + ".rope.dimension_count", c.headDim());
        if (c.rope().type() == RopeScaling.Type.LINEAR) {
            w.putString(a + ".rope.scaling.type", "linear");
            w.putF32(a + ".rope.scaling.factor", c.rope().factor());
        }
        w.putU32(a + ".vocab_size", c.vocabSize());
        var x = c.features().extras();
        if (family.isGemma()) w.putU32(a + ".attention.sliding_window", c.features().slidingWindow());
        if (family == GgufFamily.GEMMA2) {
            w.putF32(a + ".attn_logit_softcapping", x.attnSoftcap());
            w.putF32(a + ".final_logit_softcapping", x.finalSoftcap());
        }
    }

    /** Rows of t, reordered to llama.cpp's interleaved RoPE pairs when heads > 0. */
    static GgufWriter.RowReader rows(Tensor t, int heads, Arena owner) {
        return rows(t, heads, 0f, owner);
    }

    /** Rows of t as {@link #rows(Tensor, int, Arena)}, a vector with offset added to every element. */
    static GgufWriter.RowReader rows(Tensor t, int heads, float offset, Arena owner) {
        FloatBuffer fb = t.floats();
        long[] shape = t.shape();
        if (shape.length == 1) {
            int n = (int) shape[0];
            int[] order = heads > 0 ? LlamaGgufMapping.interleavedRowOrder(heads, n) : null;
            return reader((r, dst) -> {
                for (int i = 0; i < n; i++) dst[i] = fb.get(order == null ? i : order[i]) + offset;
            }, owner);
        }
        int rows = (int) shape[0], cols = (int) shape[1];
        int[] order = heads > 0 ? LlamaGgufMapping.interleavedRowOrder(heads, rows) : null;
        return reader((r, dst) -> fb.get((order == null ? r : order[r]) * cols, dst, 0, cols), owner);
    }

    private static GgufWriter.RowReader reader(GgufWriter.RowReader rows, Arena owner) {
        return new GgufWriter.RowReader() {
            @Override
            public void row(int r, float[] dst) {
                rows.row(r, dst);
            }

            @Override
            public void close() {
                if (owner != null) owner.close();
            }
        };
    }

    /** The merged weight (W + scale·B·A for LoRA), computed when the writer reaches the tensor and freed after it. */
    private static GgufWriter.RowReader mergedRows(Ops ops, MergedWeight folded, int heads, float offset) {
        Arena arena = new Arena();
        try {
            return rows(folded.compute(ops, arena), heads, offset, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Llama 3.1's per-frequency RoPE divisors as llama.cpp takes them (rope_freqs.weight): 1 for
     * short wavelengths, factor for long ones, a smooth blend in between.
     */
    static float[] llama3RopeFactors(RopeScaling r, int headDim) {
        float[] out = new float[headDim / 2];
        double lowWavelen = r.originalMaxPositions() / r.lowFreqFactor();
        double highWavelen = r.originalMaxPositions() / r.highFreqFactor();
        for (int i = 0; i < out.length; i++) {
            double freq = 1.0 / Math.pow(r.theta(), (2.0 * i) / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) {
                out[i] = 1f;
            } else if (wavelen > lowWavelen) {
                out[i] = r.factor();
            } else {
                double smooth = (r.originalMaxPositions() / wavelen - r.lowFreqFactor())
                        / (r.highFreqFactor() - r.lowFreqFactor());
                out[i] = (float) (1 / ((1 - smooth) / r.factor() + smooth));
            }
        }
        return out;
    }
}
