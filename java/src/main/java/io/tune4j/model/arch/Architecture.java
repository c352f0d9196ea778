package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * One decoder family that tune4j loads: how its config.json says what differs from Llama, and how
 * to write that back. Module names, shapes and biases follow from the features through
 * {@link ModuleTable}, so loaders, writers and PEFT read one description.
 */
public interface Architecture {
    /** Hugging Face's model_type. */
    String modelType();

    /** The architectures[] entry of its config.json (e.g. Qwen2ForCausalLM). */
    String hfClass();

    /** This family's features from its config.json (numLayers already read). */
    ArchFeatures readFeatures(ConfigFields f, int numLayers);

    /**
     * The MLP's activation from config.json: silu (SwiGLU) unless the family says otherwise. An
     * activation the block cannot run is refused here, naming the field.
     */
    default String readActivation(ConfigFields f) {
        String act = f.present("hidden_act") ? f.reqText("hidden_act") : "silu";
        if (!act.equals("silu") && !act.equals("swish")) {
            throw f.error("hidden_act '" + act + "' is not supported for " + modelType() + " (expected silu)");
        }
        return "silu";
    }

    /**
     * Refuses what config.json asks for that this family's block does not implement, naming the field;
     * runs before the generic fields are read, so the family's own reason comes first.
     */
    default void refuseUnsupported(ConfigFields f) {}

    /**
     * num_key_value_heads where config.json has no such key: the family's config class default,
     * which for some families is a fixed number rather than the query head count. A key set to null
     * means as many as the query heads in every family: transformers reads null so for Llama, Mistral,
     * Qwen and Phi-3; its Gemma classes take no null, and tune4j reads it the same way there.
     */
    default int defaultKvHeads(int heads) {
        return heads;
    }

    /** head_dim where config.json leaves it out; 0 means hidden_size / num_attention_heads. */
    default int defaultHeadDim() {
        return 0;
    }

    /** rms_norm_eps where config.json leaves it out. */
    default float defaultRmsNormEps() {
        return 1e-6f;
    }

    /** rope_theta where config.json leaves it out (transformers' default for the family). */
    default float defaultRopeTheta() {
        return 10000f;
    }

    /** tie_word_embeddings where config.json leaves it out. */
    default boolean defaultTiedEmbeddings() {
        return false;
    }

    /** Writes the keys {@link #readFeatures} reads. */
    void writeFeatures(ObjectNode o, LlamaConfig c);

    /** Names of the features a model of this family uses, for {@code tune4j info}. */
    default List<String> describe(LlamaConfig c) {
        List<String> out = new ArrayList<>();
        ArchFeatures a = c.features();
        BlockExtras x = a.extras();
        out.add((x.normOffset() != 0 ? "RMSNorm with (" + x.normOffset() + " + w)" : "RMSNorm") + " (eps " + c.rmsNormEps() + ")");
        if (x.sandwichNorms()) out.add("pre- and post-norms around attention and MLP");
        out.add(c.gatedGelu() ? "GeGLU MLP (" + c.hiddenAct() + ")" : "SwiGLU MLP (" + c.hiddenAct() + ")");
        if (x.scaleEmbeddings()) out.add("embeddings scaled by sqrt(hidden_size)");
        out.add(c.rope().describe());
        if (x.localRopeTheta() > 0) out.add("RoPE theta " + x.localRopeTheta() + " on sliding-window layers");
        if (x.queryPreAttnScalar() > 0) out.add("attention scale query_pre_attn_scalar^-1/2 (" + x.queryPreAttnScalar() + ")");
        if (x.attnSoftcap() > 0) out.add("attention logit soft-capping (" + x.attnSoftcap() + ")");
        if (x.finalSoftcap() > 0) out.add("final logit soft-capping (" + x.finalSoftcap() + ")");
        out.add(c.numKvHeads() == c.numHeads() ? "multi-head attention"
                : "grouped-query attention (" + c.numHeads() + " query heads, " + c.numKvHeads() + " KV heads)");
        if (c.qkvBias() && c.oBias()) out.add("q/k/v/o biases");
        else if (c.qkvBias()) out.add("q/k/v biases (no o_proj bias)");
        if (c.mlpBias()) out.add("MLP biases");
        if (a.qkNorm()) out.add("per-head q_norm/k_norm");
        if (a.fused()) out.add("fused qkv_proj and gate_up_proj");
        if (a.slidingWindow() > 0) {
            out.add("sliding-window attention (" + a.slidingWindow() + " keys, "
                    + (a.slidingLayers().size() == c.numLayers() ? "every layer" : "layers " + ranges(a.slidingLayers()))
                    + ")");
        }
        out.add(c.tieWordEmbeddings() ? "tied embeddings" : "separate LM head");
        return out;
    }

    private static String ranges(List<Integer> layers) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < layers.size(); ) {
            int j = i;
            while (j + 1 < layers.size() && layers.get(j + 1) == layers.get(j) + 1) j++;
            if (sb.length() > 0) sb.append(", ");
            sb.append(layers.get(i));
            if (j > i) sb.append('-').append(layers.get(j));
            i = j + 1;
        }
        return sb.toString();
    }
}
