package io.tune4j.export;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LoadedModel;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.LoraMethod;
import io.tune4j.peft.LoraProjection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A LoRA adapter alone as a GGUF LoRA (general.type "adapter") that llama.cpp applies over the
 * base model's GGUF (--lora). Each site becomes blk.N.&lt;tensor&gt;.weight.lora_a ([r, in]) and
 * .lora_b ([out, r]); B's rows of q/k get the same RoPE reordering as the base q/k weights (llama
 * architecture only), since B·A adds to those rows.
 */
public final class GgufLoraExporter {
    private GgufLoraExporter() {}

    public static GgufExporter.Result export(LoadedModel m, FineTuneMethod method, GgufType dtype, String name, Path out) {
        GgufExporter.requireHost(m);
        if (!(method instanceof LoraMethod lora)) {
            throw new IllegalArgumentException("--lora-only exports a LoRA adapter; this adapter is '"
                    + (method == null ? "none" : method.name()) + "'");
        }
        if (!lora.savedModuleParameters().isEmpty()) {
            throw new IllegalArgumentException("the adapter's modules_to_save (fully trained "
                    + lora.savedModuleParameters().get(0).name() + ", ...) cannot be expressed in a GGUF LoRA; "
                    + "export the merged model instead (without --lora-only)");
        }
        LlamaConfig c = m.config();
        // llama.cpp applies an adapter only over a base of the same architecture, which must itself load
        GgufFamily family = GgufFamily.of(c, m.source());
        Map<String, String> names = LlamaGgufMapping.names(c);
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", family.arch);
        w.putString("general.type", "adapter");
        w.putString("general.name", name);
        w.putU32("general.file_type", dtype.fileType);
        w.putU32("general.alignment", GgufWriter.ALIGNMENT);
        w.putString("adapter.type", "lora");
        List<String> fellBack = new ArrayList<>();
        int stored = 0;
        float alpha = Float.NaN;
        for (LoraMethod.Site s : lora.sites()) {
            LoraProjection p = s.projection();
            // llama.cpp scales B·A by alpha / r; writing scale·r reproduces tune4j's scale (rsLoRA included)
            float a = p.scale() * p.rank();
            if (!Float.isNaN(alpha) && Math.abs(a - alpha) > 1e-6f * Math.abs(alpha)) {
                throw new IllegalArgumentException("the adapter's sites use different LoRA scales; a GGUF LoRA has one "
                        + "adapter.lora.alpha: export the merged model instead");
            }
            alpha = a;
            String hf = p.base().weight().name();
            String gguf = names.get(hf);
            if (gguf == null) throw new IllegalArgumentException("LoRA site " + hf + " has no llama.cpp tensor");
            int heads = LlamaGgufMapping.ropeHeads(hf, c, family);
            stored += add(w, gguf + ".lora_a", p.loraA().value().shape(), dtype, fellBack,
                    () -> GgufExporter.rows(p.loraA().value(), 0, null));
            stored += add(w, gguf + ".lora_b", p.loraB().value().shape(), dtype, fellBack,
                    () -> GgufExporter.rows(p.loraB().value(), heads, null));
        }
        if (Float.isNaN(alpha)) throw new IllegalArgumentException("the adapter has no LoRA sites");
        w.putF32("adapter.lora.alpha", alpha);
        w.write(out);
        long bytes;
        try {
            bytes = Files.size(out);
        } catch (java.io.IOException e) {
            bytes = -1;
        }
        return new GgufExporter.Result(out, w.tensorCount(), bytes, stored, fellBack);
    }

    private static int add(GgufWriter w, String name, long[] shape, GgufType dtype, List<String> fellBack,
                           java.util.function.Supplier<GgufWriter.RowReader> data) {
        GgufType t = dtype;
        if (shape[1] % t.blockSize != 0) {
            t = GgufType.F16;
            fellBack.add(name);
        }
        w.addMatrix(name, shape[0], shape[1], t, data);
        return t == dtype ? 1 : 0;
    }
}
