package io.tune4j.finetune;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What the before/after report measures on the validation data: loss and perplexity always;
 * generation metrics (accuracy, exact_match, rouge_l, bleu) when a validation file is given. Both
 * use at most {@code limit} validation examples (default 500).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record EvalSpec(List<String> metrics, Integer limit, Integer maxTokens) {
    public EvalSpec {
        metrics = metrics == null ? List.of("loss", "perplexity") : List.copyOf(metrics);
    }

    public static EvalSpec defaults() {
        return new EvalSpec(null, null, null);
    }

    /** Validation examples a run measures unless told otherwise: `eval` defaults to the same, so the two agree. */
    public static final int DEFAULT_LIMIT = 500;

    public int limitOrDefault() {
        return limit == null ? DEFAULT_LIMIT : limit;
    }
}
