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

    /** Writes the keys {@link #readFeatures} reads. */
    void writeFeatures(ObjectNode o, LlamaConfig c);

    /** Names of the features a model of this family uses, for {@code tune4j info}. */
    default List<String> describe(LlamaConfig c) {
        List<String> out = new ArrayList<>();
        out.add("RMSNorm (eps " + c.rmsNormEps() + ")");
        out.add("SwiGLU MLP (" + c.hiddenAct() + ")");
        out.add(c.rope().describe());
        out.add(c.numKvHeads() == c.numHeads() ? "multi-head attention"
                : "grouped-query attention (" + c.numHeads() + " query heads, " + c.numKvHeads() + " KV heads)");
        ArchFeatures a = c.features();
        if (c.qkvBias() && c.oBias()) out.add("q/k/v/o biases");
        else if (c.qkvBias()) out.add("q/k/v biases (no o_proj bias)");
        if (c.mlpBias()) out.add("MLP biases");
        if (a.qkNorm()) out.add("per-head q_norm/k_norm");
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
