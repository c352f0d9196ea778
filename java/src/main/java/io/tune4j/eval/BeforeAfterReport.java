package io.tune4j.eval;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** The base model against the tuned one on the same validation set, with after - before deltas. */
@JsonIgnoreProperties(value = "delta", allowGetters = true)
public record BeforeAfterReport(EvalReport before, EvalReport after) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public BeforeAfterReport {
        if (before == null || after == null) throw new IllegalArgumentException("both reports are needed");
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
        return b.toString();
    }
}
