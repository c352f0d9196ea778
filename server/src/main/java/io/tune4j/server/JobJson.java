package io.tune4j.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.server.jobs.FileStore;
import io.tune4j.server.jobs.JobEvent;
import io.tune4j.server.jobs.JobInfo;
import java.util.List;

/** The OpenAI shapes of jobs, job events and files (fine_tuning.job, fine_tuning.job.event, file). */
final class JobJson {
    private JobJson() {}

    static ObjectNode job(JobInfo j) {
        ObjectNode o = Http.JSON.createObjectNode();
        o.put("id", j.id()).put("object", "fine_tuning.job").put("model", j.model()).put("created_at", j.createdAt());
        if (j.finishedAt() == null) o.putNull("finished_at"); else o.put("finished_at", j.finishedAt());
        o.put("status", j.status());
        o.put("training_file", j.trainingFile());
        text(o, "validation_file", j.validationFile());
        text(o, "fine_tuned_model", j.fineTunedModel());
        ObjectNode method = o.putObject("method").put("type", j.methodType());
        ObjectNode hp = Http.JSON.valueToTree(j.hyperparameters() == null ? java.util.Map.of() : j.hyperparameters());
        method.putObject(j.methodType()).set("hyperparameters", hp);
        o.set("hyperparameters", hp.deepCopy());
        if (j.error() == null) {
            o.putNull("error");
        } else {
            ObjectNode e = o.putObject("error");
            text(e, "code", j.errorCode() == null ? "training_failed" : j.errorCode());
            e.put("message", j.error());
            text(e, "param", j.errorParam());
        }
        o.put("trained_tokens", j.trainedTokens());
        o.putArray("result_files");
        if (j.seed() == null) o.putNull("seed"); else o.put("seed", j.seed());
        text(o, "user_provided_suffix", j.suffix());
        o.putNull("estimated_finish");
        o.putArray("integrations");
        o.put("organization_id", "tune4j");
        // tune4j's own: progress, the before/after evaluation, where the result lies under the data directory
        o.put("step", j.step()).put("total_steps", j.totalSteps());
        if (j.metrics() == null) o.putNull("metrics"); else o.set("metrics", Http.JSON.valueToTree(j.metrics()));
        text(o, "result_dir", j.result());
        return o;
    }

    static ObjectNode event(String jobId, JobEvent e) {
        ObjectNode o = Http.JSON.createObjectNode();
        o.put("id", eventId(jobId, e.seq())).put("object", "fine_tuning.job.event").put("created_at", e.createdAt())
                .put("level", e.level()).put("message", e.message()).put("type", e.type());
        if (e.data() == null) o.putNull("data"); else o.set("data", Http.JSON.valueToTree(e.data()));
        o.put("seq", e.seq());
        return o;
    }

    /** ftevent-XXXX-N for event N of job ftjob-XXXX. */
    static String eventId(String jobId, long seq) {
        String tail = jobId.startsWith("ftjob-") ? jobId.substring(6) : jobId;
        return "ftevent-" + tail + "-" + seq;
    }

    /** The sequence number an event id names, or -1 when it is not one. */
    static long seqOf(String eventId) {
        int dash = eventId.lastIndexOf('-');
        try {
            return dash < 0 ? -1 : Long.parseLong(eventId.substring(dash + 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static ObjectNode file(FileStore.StoredFile f) {
        return Http.JSON.createObjectNode().put("id", f.id()).put("object", "file").put("bytes", f.bytes())
                .put("created_at", f.createdAt()).put("filename", f.filename()).put("purpose", f.purpose())
                .put("status", "processed").putNull("status_details");
    }

    static ObjectNode list(List<ObjectNode> items, boolean hasMore) {
        ObjectNode o = Http.JSON.createObjectNode().put("object", "list");
        ArrayNode data = o.putArray("data");
        items.forEach(data::add);
        o.put("has_more", hasMore);
        return o;
    }

    private static void text(ObjectNode o, String field, String value) {
        if (value == null) o.putNull(field); else o.put(field, value);
    }
}
