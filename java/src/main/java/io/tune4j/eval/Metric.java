package io.tune4j.eval;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What an evaluation can report; the id is the JSON key and the CLI name. */
public enum Metric {
    LOSS("loss", false),
    PERPLEXITY("perplexity", false),
    /** Normalised generated text (or extracted number) equals the reference. */
    EXACT_MATCH("exact_match", true),
    /** Label tasks: the option the model finds most likely (summed log-likelihood) is the reference. */
    ACCURACY("accuracy", true),
    /** Label tasks: the normalised generated text equals the reference option. */
    ACCURACY_GENERATE("accuracy_generate", true),
    ROUGE_L("rouge_l", true),
    BLEU("bleu", true);

    private final String id;
    private final boolean higherIsBetter;

    Metric(String id, boolean higherIsBetter) {
        this.id = id;
        this.higherIsBetter = higherIsBetter;
    }

    public String id() {
        return id;
    }

    /** False for loss and perplexity. */
    public boolean higherIsBetter() {
        return higherIsBetter;
    }

    public boolean needsGeneration() {
        return this == EXACT_MATCH || this == ACCURACY_GENERATE || this == ROUGE_L || this == BLEU;
    }

    public static Metric parse(String id) {
        for (Metric m : values()) if (m.id.equalsIgnoreCase(id.strip())) return m;
        throw new IllegalArgumentException("unknown metric '" + id + "', expected one of "
                + Arrays.stream(values()).map(Metric::id).collect(Collectors.joining(", ")));
    }
}
