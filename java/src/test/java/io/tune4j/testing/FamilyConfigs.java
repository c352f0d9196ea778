package io.tune4j.testing;

import java.util.List;

/**
 * A small config.json of each supported family and its variants, {name, json}: shared by the libtorch
 * reference test and the CUDA-against-CPU model test, which runs where libtorch does not travel.
 */
public final class FamilyConfigs {
    private FamilyConfigs() {}

    public static List<String[]> all() {
        String common = "\"vocab_size\": 37, \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 3, "
                + "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 64, "
                + "\"rms_norm_eps\": 1e-6, \"rope_theta\": 10000.0, ";
        return List.of(
                new String[] {"llama", "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"], " + common
                        + "\"tie_word_embeddings\": false}"},
                // head_dim 8: wavelengths 6.3, 63, 628 and 6283 fall short of, between and beyond 64/4 and 64/1
                new String[] {"llama, Llama 3 rope scaling", "{\"model_type\": \"llama\", " + common
                        + "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, "
                        + "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 64}, \"tie_word_embeddings\": true}"},
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
                        + "\"use_sliding_window\": true, \"sliding_window\": 6, \"layer_types\": [\"sliding_attention\", "
                        + "\"full_attention\", \"sliding_attention\"], \"tie_word_embeddings\": false}"},
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
    }
}
