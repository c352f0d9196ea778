package io.tune4j.model.arch;

import java.util.List;

/**
 * What a model's family adds to the plain Llama block, as read from its config.json.
 *
 * @param modelType     Hugging Face's model_type (llama, mistral, qwen2, qwen3, gemma2, gemma3_text, phi3)
 * @param qkvBias       q_proj, k_proj and v_proj carry biases whatever attention_bias says (Qwen2)
 * @param qkNorm        per-head RMSNorm of queries and keys before RoPE (q_norm, k_norm; Qwen3)
 * @param slidingWindow keys a sliding-window layer's query sees, itself included; 0 when no layer slides
 * @param slidingLayers the layers that use the window (ascending)
 * @param extras        Gemma's norms, scales and soft-caps ({@link BlockExtras#NONE} for the others)
 * @param fused         one qkv_proj instead of q_proj, k_proj, v_proj and one gate_up_proj instead of
 *                      gate_proj, up_proj (Phi-3): the checkpoint, PEFT's target names and LoRA see the fused ones
 */
public record ArchFeatures(String modelType, boolean qkvBias, boolean qkNorm, int slidingWindow,
                           List<Integer> slidingLayers, BlockExtras extras, boolean fused) {
    public ArchFeatures {
        if (slidingWindow < 0) throw new IllegalArgumentException("sliding_window must not be negative, got " + slidingWindow);
        slidingLayers = slidingWindow == 0 ? List.of() : List.copyOf(slidingLayers);
        if (extras == null) extras = BlockExtras.NONE;
    }

    /** A family with separate q/k/v and gate/up projections. */
    public ArchFeatures(String modelType, boolean qkvBias, boolean qkNorm, int slidingWindow, List<Integer> slidingLayers,
                        BlockExtras extras) {
        this(modelType, qkvBias, qkNorm, slidingWindow, slidingLayers, extras, false);
    }

    /** A family with Llama's norms and scales. */
    public ArchFeatures(String modelType, boolean qkvBias, boolean qkNorm, int slidingWindow, List<Integer> slidingLayers) {
        this(modelType, qkvBias, qkNorm, slidingWindow, slidingLayers, BlockExtras.NONE);
    }

    /** A plain Llama model. */
    public static final ArchFeatures LLAMA = new ArchFeatures("llama", false, false, 0, List.of());

    /** The window of a layer's attention: {@link #slidingWindow} on a sliding layer, else 0 (full causal). */
    public int windowOf(int layer) {
        return slidingWindow > 0 && slidingLayers.contains(layer) ? slidingWindow : 0;
    }
}
