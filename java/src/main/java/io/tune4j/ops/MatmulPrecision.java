package io.tune4j.ops;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Locale;

/**
 * Precision of the matrix products inside the ops (linear, LoRA, adapters, LM head). Everything
 * else (norms, attention, softmax, optimiser, master weights) stays fp32 either way.
 */
public enum MatmulPrecision {
    /** fp32 operands and sums: the reference precision, and the default. */
    @JsonProperty("fp32") FP32,
    /**
     * Operands rounded to bf16, products summed in fp32: mixed-precision training as on GPUs. On
     * the CPU it runs on Intel AMX tiles (Sapphire Rapids and later), else on AVX512-BF16 (AMD Zen 4
     * and later, Intel Cooper Lake) at up to twice fp32's rate; elsewhere it falls back to fp32.
     */
    @JsonProperty("bf16") BF16;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static MatmulPrecision parse(String s) {
        for (MatmulPrecision p : values()) if (p.id().equalsIgnoreCase(s.trim())) return p;
        throw new IllegalArgumentException("precision: expected fp32 or bf16, got '" + s + "'");
    }
}
