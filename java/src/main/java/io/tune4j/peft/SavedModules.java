package io.tune4j.peft;

import io.tune4j.model.DecoderLayer;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.arch.ModuleTable;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * PEFT's {@code modules_to_save}: whole modules that train (and are saved) next to the LoRA
 * weights. As in PEFT's ModulesToSaveWrapper, each selected module gets a trainable copy and the
 * base weight stays untouched; detaching puts the base weight back. An entry selects every module
 * whose full name ends with it, PEFT's rule: {@code norm} selects every RMSNorm
 * ({@code model.layers.{i}.input_layernorm}, {@code model.layers.{i}.post_attention_layernorm}
 * and {@code model.norm}), {@code input_layernorm} only those. The copies are saved as
 * {@code base_model.model.<module>.weight}, the key PEFT writes for a module to save. A copy
 * carries the base weight's name ({@code model.norm.weight}): while attached it is that weight of
 * the model, so merging writes it in its place.
 *
 * <p>Only the RMSNorm weights can be selected: the embedding and LM head (tied in many small
 * models, where PEFT would untie them) and the projections (LoRA's targets) are refused.
 */
final class SavedModules implements AutoCloseable {
    /** Module names that can be saved, as the last part of their Hugging Face module path. */
    static final List<String> SAVABLE = List.of("input_layernorm", "post_attention_layernorm", "norm");

    /** One selected module: its path (model.norm, model.layers.0.input_layernorm), the base weight and the copy. */
    record Site(String module, Parameter base, Parameter copy) {
        String key() {
            return PeftFiles.KEY_PREFIX + module + ".weight";
        }
    }

    private final List<Site> sites = new ArrayList<>();
    private LlamaModel model;

    /**
     * Checks entries against the module names of a Llama model with {@code layers} layers, as
     * PEFT matches them (the full module name ends with the entry); returns the selected module
     * paths in model order. Entries that select nothing, or any module other than an RMSNorm, fail.
     */
    static List<String> resolve(List<String> entries, LlamaConfig c) {
        return resolve(entries, moduleNames(c.numLayers(), c.features().qkNorm(), c.features().extras().sandwichNorms(),
                ModuleTable.projections(c)));
    }

    /** {@link #resolve(List, LlamaConfig)} for a plain Llama model of the given depth. */
    static List<String> resolve(List<String> entries, int layers) {
        return resolve(entries, moduleNames(layers, false, false, ModuleTable.projections(io.tune4j.model.arch.ArchFeatures.LLAMA)));
    }

    /** Checks entries before any model is loaded: against a deep model with every optional norm. */
    static List<String> resolveAnyModel(List<String> entries) {
        return resolve(entries, moduleNames(128, true, true, List.of(ModuleTable.Proj.values())));
    }

    private static List<String> resolve(List<String> entries, List<String> all) {
        Set<String> out = new LinkedHashSet<>();
        for (String e : entries) {
            List<String> hits = all.stream().filter(n -> n.endsWith(e)).toList();
            if (hits.isEmpty()) {
                throw new IllegalArgumentException("modules_to_save entry '" + e + "' matches no module of the model "
                        + "(expected e.g. norm, input_layernorm, post_attention_layernorm)");
            }
            for (String h : hits) {
                if (!ModuleTable.isNormModule(h)) {
                    throw new IllegalArgumentException("modules_to_save entry '" + e + "' selects " + h
                            + ", which cannot be saved: only the RMSNorm weights (input_layernorm, post_attention_layernorm, "
                            + "norm) train next to LoRA" + (h.endsWith("embed_tokens") || h.equals("lm_head")
                            ? " (the embedding and LM head are not supported)" : ""));
                }
            }
        }
        for (String n : all) {
            for (String e : entries) if (n.endsWith(e)) out.add(n);
        }
        return List.copyOf(out);
    }

    /** Every module of the model, in named_modules order (the root left out), its projections from {@link ModuleTable};
     * qkNorm adds self_attn.q_norm and k_norm (Qwen3, Gemma 3), sandwich Gemma's pre_ and post_feedforward_layernorm. */
    static List<String> moduleNames(int layers, boolean qkNorm, boolean sandwich, List<ModuleTable.Proj> projections) {
        List<String> out = new ArrayList<>(List.of("model", "model.embed_tokens", "model.layers"));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l;
            out.add(p);
            for (String parent : List.of("self_attn", "mlp")) {
                out.add(p + "." + parent);
                for (ModuleTable.Proj x : projections) if (x.parent.equals(parent)) out.add(p + "." + x.path());
                if (parent.equals("self_attn") && qkNorm) {
                    out.add(p + "." + ModuleTable.Q_NORM);
                    out.add(p + "." + ModuleTable.K_NORM);
                }
            }
            out.add(p + ".mlp.act_fn");
            out.add(p + "." + ModuleTable.INPUT_NORM);
            out.add(p + "." + ModuleTable.POST_ATTENTION_NORM);
            if (sandwich) {
                out.add(p + "." + ModuleTable.PRE_FFN_NORM);
                out.add(p + "." + ModuleTable.POST_FFN_NORM);
            }
        }
        out.addAll(List.of("model.norm", "model.rotary_emb", "lm_head"));
        return out;
    }

    /** Swaps a trainable copy in for every selected module's weight. */
    void attach(LlamaModel model, List<String> entries) {
        if (entries.isEmpty()) return;
        List<String> modules = resolve(entries, model.config());
        this.model = model;
        for (String module : modules) {
            Parameter base = weight(model, module);
            Parameter copy = new Parameter(module + ".weight", model.ops().copyOf(base.value()));
            copy.requireGrad(model.ops());
            replace(model, module, copy);
            sites.add(new Site(module, base, copy));
        }
    }

    List<Site> sites() {
        return List.copyOf(sites);
    }

    List<Parameter> parameters() {
        return sites.stream().map(Site::copy).toList();
    }

    void save(SafetensorsWriter w) {
        for (Site s : sites) w.add(s.key(), s.copy().value());
    }

    /** Reads every selected module's weight from an adapter file. */
    void load(SafetensorsFile f) {
        for (Site s : sites) {
            if (!f.contains(s.key())) {
                throw new ModelFormatException(f.path(), "tensor '" + s.key() + "' is missing (adapter_config.json lists "
                        + "it in modules_to_save)");
            }
            LoraMethod.copy(model.ops(), f, s.key(), s.copy());
        }
    }

    private static Parameter weight(LlamaModel model, String module) {
        if (module.equals("model.norm")) return model.finalNorm();
        String[] parts = module.split("\\.", 4);
        return model.layers().get(Integer.parseInt(parts[2])).norm(parts[3]);
    }

    private static void replace(LlamaModel model, String module, Parameter p) {
        if (module.equals("model.norm")) {
            model.replaceFinalNorm(p);
        } else {
            String[] parts = module.split("\\.", 4);
            DecoderLayer layer = model.layers().get(Integer.parseInt(parts[2]));
            layer.replaceNorm(parts[3], p);
        }
    }

    /** Puts the base weights (false) or the trainable copies (true) in the model. */
    void setEnabled(boolean enabled) {
        for (Site s : sites) replace(model, s.module(), enabled ? s.copy() : s.base());
    }

    /** Puts the base weights back and frees the copies. */
    @Override
    public void close() {
        for (Site s : sites) {
            if (weight(model, s.module()) == s.copy()) replace(model, s.module(), s.base());
            s.copy().value().close();
            s.copy().close();
        }
        sites.clear();
        model = null;
    }
}
