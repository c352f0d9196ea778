package io.tune4j.peft;

import io.tune4j.model.LlamaModel;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Folds a fine-tuning result into plain weights and writes a complete Hugging Face model directory.
 * LoRA merges exactly: W' = W + scale·B·A, computed by the native GEMM. Adapters and prefixes add
 * computation that no weight of the base architecture can express, so they cannot be merged.
 */
public final class Merger {
    private Merger() {}

    /**
     * @param method the attached method (null or full: the model's weights as they are)
     * @param source model directory or llama2.c file to copy config and tokenizer from (may be null)
     */
    public static void merge(LlamaModel model, FineTuneMethod method, Path source, Path outDir) {
        Map<String, LoraProjection> sites = mergeableSites(method);
        try (Arena arena = new Arena()) {
            Map<String, Tensor> merged = new HashMap<>();
            for (Map.Entry<String, LoraProjection> e : sites.entrySet()) {
                merged.put(e.getKey(), mergedWeight(model.ops(), e.getValue(), arena));
            }
            ModelDirWriter.write(outDir, model, merged, source);
        }
    }

    /**
     * The LoRA projections of method by the Hugging Face name of the weight each one folds into
     * (empty for null or full fine-tuning); throws when method cannot be merged at all.
     */
    public static Map<String, LoraProjection> mergeableSites(FineTuneMethod method) {
        if (method instanceof AdapterMethod) {
            throw new IllegalArgumentException("bottleneck adapters cannot be merged into the model: they add a nonlinear "
                    + "block that no Llama weight can express; serve them with --adapter instead");
        }
        if (method instanceof PrefixMethod) {
            throw new IllegalArgumentException("a prefix-tuning adapter cannot be merged into the model: its virtual "
                    + "keys/values are not weights of the base architecture; serve it with --adapter instead");
        }
        Map<String, LoraProjection> sites = new LinkedHashMap<>();
        if (method instanceof LoraMethod lora) {
            for (LoraMethod.Site s : lora.sites()) sites.put(s.projection().base().weight().name(), s.projection());
        } else if (method != null && !(method instanceof FullMethod)) {
            throw new IllegalArgumentException("cannot merge fine-tuning method '" + method.name() + "'");
        }
        return sites;
    }

    /** W + scale·B·A as a new tensor; the model keeps its own weights. */
    public static Tensor mergedWeight(Ops ops, LoraProjection p, Arena arena) {
        int out = p.outFeatures(), in = p.inFeatures(), r = p.rank();
        Tensor w = arena.f32(out, in);
        w.copyFrom(p.base().weight().value());
        Tensor sb = arena.f32(out, r);
        sb.copyFrom(p.loraB().value());
        ops.scale(sb, p.scale(), (long) out * r);
        // linear backward's input gradient is dx[M,K] += dy[M,N]·w[N,K]: with dy = s·B [out,r] and
        // w = A [r,in] that is exactly W += s·B·A in one accumulating GEMM
        ops.linearBackward(w, null, null, sb, null, p.loraA().value(), out, in, r);
        return w;
    }
}
