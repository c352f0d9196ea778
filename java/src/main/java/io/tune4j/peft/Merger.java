package io.tune4j.peft;

import io.tune4j.model.LlamaModel;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Folds a fine-tuning result into plain weights and writes a complete Hugging Face model directory.
 * What a method folds in is its own ({@link FineTuneMethod#mergedWeights}); whether it can be merged
 * at all its plug-in declares. LoRA merges exactly: W' = W + scale·B·A, computed by the native GEMM.
 */
public final class Merger {
    private Merger() {}

    /**
     * @param method the attached method (null or full: the model's weights as they are)
     * @param source model directory or llama2.c file to copy config and tokenizer from (may be null)
     */
    public static void merge(LlamaModel model, FineTuneMethod method, Path source, Path outDir) {
        Map<String, MergedWeight> sites = mergeableSites(method);
        try (Arena arena = new Arena(model.ops())) {
            Map<String, Tensor> merged = new HashMap<>();
            for (Map.Entry<String, MergedWeight> e : sites.entrySet()) {
                merged.put(e.getKey(), e.getValue().compute(model.ops(), arena));
            }
            ModelDirWriter.write(outDir, model, merged, source);
        }
    }

    /**
     * The weights method changes by their Hugging Face names, each to be folded in on demand (empty
     * for null or full fine-tuning); throws, with the method's own reason, when it cannot be merged.
     */
    public static Map<String, MergedWeight> mergeableSites(FineTuneMethod method) {
        if (method == null) return Map.of();
        MethodPlugin plugin = Methods.of(method);
        if (!plugin.mergeable()) throw new IllegalArgumentException(plugin.whyNotMergeable());
        return method.mergedWeights();
    }

    /** W + scale·B·A as a new tensor; the model keeps its own weights. */
    public static Tensor mergedWeight(Ops ops, LoraProjection p, Arena arena) {
        int out = p.outFeatures(), in = p.inFeatures(), r = p.rank();
        Tensor w = arena.f32(out, in);
        ops.copy(w, p.base().weight().value());
        Tensor sb = arena.f32(out, r);
        ops.copy(sb, p.loraB().value());
        ops.scale(sb, p.scale());
        // linear backward's input gradient is dx[M,K] += dy[M,N]·w[N,K]: with dy = s·B [out,r] and
        // w = A [r,in] that is exactly W += s·B·A in one accumulating GEMM
        ops.linearBackward(w, null, null, sb, null, p.loraA().value());
        return w;
    }
}
