package io.tune4j.peft;

import java.util.List;

/**
 * LoRA hyper-parameters, named as in PEFT's LoraConfig. The update of a target projection is
 * scale·B·A with scale = alpha/r, or alpha/sqrt(r) with rank-stabilised LoRA (useRsLora).
 *
 * @param r             rank, positive
 * @param alpha         lora_alpha
 * @param dropout       lora_dropout on the projection's input, in [0, 1)
 * @param targetModules subset of the model's projections: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj,
 *                      down_proj, or for Phi-3 qkv_proj, o_proj, gate_up_proj, down_proj (checked on attaching)
 * @param useRsLora     scale by alpha/sqrt(r) instead of alpha/r
 * @param seed          initialisation of A and the dropout masks
 * @param modulesToSave PEFT's modules_to_save: modules that train whole next to LoRA and are saved with
 *                      it, matched as PEFT does (a module whose name ends with an entry); only the RMSNorm
 *                      weights qualify (norm, input_layernorm, post_attention_layernorm); empty for none
 */
public record LoraConfig(int r, float alpha, float dropout, List<String> targetModules, boolean useRsLora, long seed,
                         List<String> modulesToSave) {
    public static final List<String> ATTENTION = List.of("q_proj", "k_proj", "v_proj", "o_proj");

    public LoraConfig {
        if (r <= 0) throw new IllegalArgumentException("LoRA rank r must be positive, got " + r);
        if (!(alpha > 0) || !Float.isFinite(alpha)) throw new IllegalArgumentException("LoRA alpha must be positive, got " + alpha);
        if (!(dropout >= 0f && dropout < 1f)) throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        if (targetModules == null || targetModules.isEmpty()) {
            throw new IllegalArgumentException("LoRA target modules are empty (expected some of " + PeftFiles.ALL_MODULES + ")");
        }
        for (String m : targetModules) {
            if (!PeftFiles.ALL_MODULES.contains(m)) {
                throw new IllegalArgumentException("unknown LoRA target module '" + m + "' (expected some of "
                        + PeftFiles.ALL_MODULES + ")");
            }
        }
        if (targetModules.stream().distinct().count() != targetModules.size()) {
            throw new IllegalArgumentException("LoRA target modules repeat a module: " + targetModules);
        }
        targetModules = List.copyOf(targetModules);
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        for (String m : modulesToSave) {
            if (m.isBlank()) throw new IllegalArgumentException("modules_to_save has an empty entry: " + modulesToSave);
        }
        if (modulesToSave.stream().distinct().count() != modulesToSave.size()) {
            throw new IllegalArgumentException("modules_to_save repeats a module: " + modulesToSave);
        }
        // names are checked before any model is loaded (against a deep model, so that entries naming a layer
        // pass); attaching checks them against the real model
        SavedModules.resolveAnyModel(modulesToSave);
    }

    /** LoRA alone, no modules_to_save. */
    public LoraConfig(int r, float alpha, float dropout, List<String> targetModules, boolean useRsLora, long seed) {
        this(r, alpha, dropout, targetModules, useRsLora, seed, List.of());
    }

    /** r = 8, alpha = 16, dropout 0.05 on the attention projections q, k, v, o. */
    public static LoraConfig defaults() {
        return new LoraConfig(8, 16f, 0.05f, ATTENTION, false, 42L, List.of());
    }

    public float scale() {
        return (float) (useRsLora ? alpha / Math.sqrt(r) : alpha / (double) r);
    }
}
