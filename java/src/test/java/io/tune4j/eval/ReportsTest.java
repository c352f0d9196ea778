package io.tune4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/** JSON and text forms of the reports. */
class ReportsTest {
    static EvalReport report(double loss, Double accuracy) {
        return new EvalReport(loss, Math.exp(loss), null, accuracy, null, accuracy == null ? null : 0.5, 0.25, null,
                new EvalReport.Counts(10, 1234L, 2, null, null, accuracy == null ? null : 10, null, 7, null),
                new EvalReport.Settings(null, null, null, null), 1.5);
    }

    @Test
    void reportJsonHasSnakeCaseKeysLeavesOutAbsentMetricsAndRoundTrips() throws Exception {
        EvalReport r = report(1.25, 0.7);
        JsonNode j = new ObjectMapper().readTree(r.toJson());
        assertEquals(1.25, j.get("loss").asDouble());
        assertEquals(0.7, j.get("accuracy").asDouble());
        assertEquals(0.25, j.get("rouge_l").asDouble());
        assertEquals(0.5, j.get("majority_baseline").asDouble());
        assertEquals(1234, j.get("counts").get("loss_tokens").asLong());
        assertFalse(j.has("bleu"));
        assertFalse(j.has("exact_match"));
        assertEquals(r, EvalReport.fromJson(r.toJson()));
        assertEquals(1, r.toJson().lines().count());
        assertTrue(r.summary().contains("accuracy"), r.summary());
        assertTrue(r.summary().contains("7/10"), r.summary());
    }

    @Test
    void beforeAfterGivesDeltasAndSaysWhichWayIsBetter() throws Exception {
        BeforeAfterReport ba = new BeforeAfterReport(report(2.0, 0.5), report(1.5, 0.8));
        assertEquals(-0.5, ba.deltas().get("loss"), 1e-12);
        assertEquals(0.3, ba.deltas().get("accuracy"), 1e-12);
        assertEquals(0.0, ba.deltas().get("rouge_l"), 1e-12);
        assertEquals(List.of("loss", "perplexity", "accuracy", "rouge_l"), List.copyOf(ba.deltas().keySet()));
        JsonNode j = new ObjectMapper().readTree(ba.toJson());
        assertEquals(2.0, j.get("before").get("loss").asDouble());
        assertEquals(0.3, j.get("delta").get("accuracy").asDouble(), 1e-12);
        assertEquals(ba, BeforeAfterReport.fromJson(ba.toJson()));
        String text = ba.summary();
        assertTrue(text.lines().filter(l -> l.startsWith("loss")).findFirst().orElseThrow().endsWith("better"), text);
        assertTrue(text.lines().filter(l -> l.startsWith("accuracy")).findFirst().orElseThrow().endsWith("better"), text);
        BeforeAfterReport worse = new BeforeAfterReport(report(1.0, 0.9), report(1.1, 0.6));
        assertTrue(worse.summary().lines().filter(l -> l.startsWith("perplexity")).findFirst().orElseThrow().endsWith("worse"));
    }
}
