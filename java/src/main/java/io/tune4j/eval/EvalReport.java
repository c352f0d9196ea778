package io.tune4j.eval;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one evaluation measured. Metrics not requested (or with nothing to measure) are null and
 * left out of the JSON; all scores are fractions in [0, 1]; loss is the mean per-token
 * cross-entropy in nats and perplexity is exp(loss).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record EvalReport(
        Double loss,
        Double perplexity,
        @JsonProperty("exact_match") Double exactMatch,
        Double accuracy,
        @JsonProperty("accuracy_generate") Double accuracyGenerate,
        @JsonProperty("majority_baseline") Double majorityBaseline,
        @JsonProperty("rouge_l") Double rougeL,
        Double bleu,
        Counts counts,
        Settings settings,
        Double seconds) {

    /** How much each metric rests on. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Counts(
            int examples,
            @JsonProperty("loss_tokens") Long lossTokens,
            @JsonProperty("loss_batches") Integer lossBatches,
            @JsonProperty("generated_examples") Integer generatedExamples,
            @JsonProperty("generated_tokens") Long generatedTokens,
            @JsonProperty("label_examples") Integer labelExamples,
            @JsonProperty("exact_match_hits") Integer exactMatchHits,
            @JsonProperty("accuracy_hits") Integer accuracyHits,
            @JsonProperty("accuracy_generate_hits") Integer accuracyGenerateHits) {}

    /** The settings that change the numbers. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Settings(
            @JsonProperty("max_new_tokens") Integer maxNewTokens,
            List<String> stop,
            @JsonProperty("answer_format") String answerFormat,
            @JsonProperty("bleu_smoothing") String bleuSmoothing) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The value of a metric, or null when this report has none. */
    public Double get(Metric m) {
        return switch (m) {
            case LOSS -> loss;
            case PERPLEXITY -> perplexity;
            case EXACT_MATCH -> exactMatch;
            case ACCURACY -> accuracy;
            case ACCURACY_GENERATE -> accuracyGenerate;
            case ROUGE_L -> rougeL;
            case BLEU -> bleu;
        };
    }

    /** Metric id to value, for the metrics present, in {@link Metric} order. */
    @JsonIgnore
    public Map<String, Double> metrics() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Metric m : Metric.values()) if (get(m) != null) out.put(m.id(), get(m));
        return out;
    }

    /** One JSON object on one line. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public String toPrettyJson() {
        try {
            return JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static EvalReport fromJson(String json) {
        try {
            return JSON.readValue(json, EvalReport.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not an evaluation report: " + e.getOriginalMessage());
        }
    }

    /** A few aligned lines for people. */
    public String summary() {
        StringBuilder b = new StringBuilder();
        Counts c = counts;
        if (loss != null) line(b, "loss", fmt(loss), c == null || c.lossTokens() == null ? "" : c.lossTokens() + " tokens");
        if (perplexity != null) line(b, "perplexity", fmt(perplexity), "");
        if (exactMatch != null) line(b, "exact_match", pct(exactMatch), hits(c == null ? null : c.exactMatchHits(), c == null ? null : c.generatedExamples()));
        if (accuracy != null) line(b, "accuracy", pct(accuracy), hits(c == null ? null : c.accuracyHits(), c == null ? null : c.labelExamples()) + " (likelihood)");
        if (accuracyGenerate != null) line(b, "accuracy_generate", pct(accuracyGenerate), hits(c == null ? null : c.accuracyGenerateHits(), c == null ? null : c.labelExamples()) + " (generation)");
        if (majorityBaseline != null) line(b, "majority_baseline", pct(majorityBaseline), "always the most frequent label");
        if (rougeL != null) line(b, "rouge_l", fmt(rougeL), "F1");
        if (bleu != null) line(b, "bleu", fmt(bleu), "corpus BLEU-4" + (settings == null ? "" : ", smoothing " + settings.bleuSmoothing()));
        if (c != null) line(b, "examples", Integer.toString(c.examples()), "");
        if (seconds != null) line(b, "seconds", String.format(Locale.ROOT, "%.1f", seconds), "");
        return b.toString();
    }

    static void line(StringBuilder b, String name, String value, String note) {
        b.append(String.format(Locale.ROOT, "%-18s %10s%s%n", name, value, note.isEmpty() ? "" : "  " + note));
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    static String pct(double v) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * v);
    }

    private static String hits(Integer hits, Integer of) {
        return hits == null || of == null ? "" : hits + "/" + of;
    }
}
