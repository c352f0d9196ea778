package io.tune4j.eval;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** The base model against the tuned one on the same validation set, with after - before deltas. */
@JsonIgnoreProperties(value = "delta", allowGetters = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BeforeAfterReport(EvalReport before, EvalReport after, Selection kept) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public BeforeAfterReport {
        if (before == null || after == null) throw new IllegalArgumentException("both reports are needed");
    }

    public BeforeAfterReport(EvalReport before, EvalReport after) {
        this(before, after, null);
    }

    /**
     * Which step's weights "after" measures, and whether they beat the base model.
     *
     * @param select the rule ("best" validation loss, or "last")
     * @param step the step kept
     * @param lastStep the step training ended at
     * @param bestValLoss lowest validation loss seen during training (null without validation)
     * @param lastValLoss validation loss after the last step (null when it was not validated)
     * @param betterThanBase whether the kept model's validation loss is below the base model's
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Selection(String select, int step, @JsonProperty("last_step") int lastStep,
                            @JsonProperty("best_val_loss") Double bestValLoss, @JsonProperty("last_val_loss") Double lastValLoss,
                            @JsonProperty("better_than_base") Boolean betterThanBase) {
        public static Selection of(String select, int step, int lastStep, double best, double last, Double baseLoss,
                                   Double keptLoss) {
            Boolean better = baseLoss == null || keptLoss == null ? null : keptLoss < baseLoss;
            return new Selection(select, step, lastStep, Double.isNaN(best) ? null : best, Double.isNaN(last) ? null : last,
                    better);
        }
    }

    /** after - before for every metric both reports have. */
    @JsonProperty("delta")
    public Map<String, Double> deltas() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Metric m : Metric.values()) {
            Double a = before.get(m), b = after.get(m);
            if (a != null && b != null) out.put(m.id(), b - a);
        }
        return out;
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static BeforeAfterReport fromJson(String json) {
        try {
            return JSON.readValue(json, BeforeAfterReport.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a before/after report: " + e.getOriginalMessage());
        }
    }

    /** A table: metric, before, after, delta and whether it moved the right way. */
    public String summary() {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-18s %10s %10s %10s%n", "metric", "before", "after", "delta"));
        for (Metric m : Metric.values()) {
            Double x = before.get(m), y = after.get(m);
            if (x == null && y == null) continue;
            String delta = "", verdict = "";
            if (x != null && y != null) {
                double d = y - x;
                delta = String.format(Locale.ROOT, "%+.4f", d);
                verdict = d == 0 ? "" : (d > 0) == m.higherIsBetter() ? "  better" : "  worse";
            }
            b.append(String.format(Locale.ROOT, "%-18s %10s %10s %10s%s%n", m.id(), x == null ? "-" : EvalReport.fmt(x),
                    y == null ? "-" : EvalReport.fmt(y), delta, verdict));
        }
        Double mb = after.majorityBaseline() != null ? after.majorityBaseline() : before.majorityBaseline();
        if (mb != null) b.append(String.format(Locale.ROOT, "%-18s %10s%n", "majority_baseline", EvalReport.fmt(mb)));
        if (kept != null) {
            b.append(String.format(Locale.ROOT, "kept: step %d of %d (%s)%n", kept.step(), kept.lastStep(),
                    "best".equals(kept.select()) ? "lowest validation loss" : "last step"));
            if (Boolean.FALSE.equals(kept.betterThanBase())) {
                b.append(String.format(Locale.ROOT, "WARNING: the kept model is no better than the base model: validation "
                        + "loss %s after vs %s before%n", EvalReport.fmt(after.loss()), EvalReport.fmt(before.loss())));
            }
        }
        return b.toString();
    }
}
