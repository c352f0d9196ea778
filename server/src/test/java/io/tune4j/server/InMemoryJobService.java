package io.tune4j.server;

import io.tune4j.server.jobs.JobEvent;
import io.tune4j.server.jobs.JobEventListener;
import io.tune4j.server.jobs.JobException;
import io.tune4j.server.jobs.JobInfo;
import io.tune4j.server.jobs.JobRequest;
import io.tune4j.server.jobs.JobService;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A test double of {@link JobService} that trains nothing: the test drives each job's events and
 * end, so the gRPC mapping (replay, follow, errors, cancel) is checked without a training run.
 */
final class InMemoryJobService implements JobService {
    private final String baseModel;
    private final Map<String, JobInfo> jobs = new LinkedHashMap<>();
    private final Map<String, List<JobEvent>> events = new LinkedHashMap<>();
    private final Map<String, List<JobEventListener>> watchers = new LinkedHashMap<>();
    final List<JobRequest> requests = new ArrayList<>();
    private int next;

    InMemoryJobService(String baseModel) {
        this.baseModel = baseModel;
    }

    @Override
    public synchronized JobInfo create(JobRequest r) {
        if (!baseModel.equals(r.model())) {
            throw new JobException(JobException.Kind.INVALID, "model", "model must be '" + baseModel + "', got '" + r.model() + "'");
        }
        if (!r.trainingFile().startsWith("file-")) {
            throw new JobException(JobException.Kind.INVALID, "training_file", "no file with id '" + r.trainingFile() + "'");
        }
        requests.add(r);
        String id = "ftjob-" + (++next);
        JobInfo j = new JobInfo(id, r.model(), "queued", 1_700_000_000L + next, null, r.trainingFile(), r.validationFile(),
                r.methodType() == null ? "lora" : r.methodType(), null, 0, 0, 10, null);
        jobs.put(id, j);
        events.put(id, new ArrayList<>());
        watchers.put(id, new ArrayList<>());
        return j;
    }

    @Override
    public synchronized Optional<JobInfo> get(String id) {
        return Optional.ofNullable(jobs.get(id));
    }

    @Override
    public synchronized List<JobInfo> list(int limit, String after) {
        List<JobInfo> newestFirst = new ArrayList<>(jobs.values());
        java.util.Collections.reverse(newestFirst);
        int from = 0;
        if (after != null) {
            while (from < newestFirst.size() && !newestFirst.get(from).id().equals(after)) from++;
            from++;
        }
        return new ArrayList<>(newestFirst.subList(Math.min(from, newestFirst.size()), Math.min(from + limit, newestFirst.size())));
    }

    @Override
    public synchronized JobInfo cancel(String id) {
        JobInfo j = require(id);
        if (j.terminal()) return j;
        return end(id, "cancelled", null);
    }

    @Override
    public synchronized AutoCloseable watch(String id, long afterSeq, JobEventListener listener) {
        JobInfo j = require(id);
        for (JobEvent e : events.get(id)) if (e.seq() > afterSeq) listener.onEvent(e);
        if (j.terminal()) {
            listener.onEnd(j);
            return () -> {};
        }
        watchers.get(id).add(listener);
        return () -> {
            synchronized (this) {
                watchers.get(id).remove(listener);
            }
        };
    }

    /** Appends a metrics event (step n) to the job's log and delivers it to its watchers. */
    synchronized void step(String id, int step, double loss) {
        List<JobEvent> log = events.get(id);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("step", step);
        data.put("train_loss", loss);
        JobEvent e = new JobEvent(log.size() + 1, 1_700_000_100L + step, "info", "metrics", "step " + step, data);
        log.add(e);
        JobInfo j = jobs.get(id);
        jobs.put(id, new JobInfo(j.id(), j.model(), "running", j.createdAt(), null, j.trainingFile(), j.validationFile(),
                j.methodType(), null, j.trainedTokens() + 100, step, j.totalSteps(), null));
        for (JobEventListener l : List.copyOf(watchers.get(id))) l.onEvent(e);
    }

    synchronized JobInfo end(String id, String status, String fineTunedModel) {
        JobInfo j = jobs.get(id);
        JobInfo done = new JobInfo(j.id(), j.model(), status, j.createdAt(), j.createdAt() + 60, j.trainingFile(),
                j.validationFile(), j.methodType(), fineTunedModel, j.trainedTokens(), j.step(), j.totalSteps(),
                status.equals("failed") ? "out of patience" : null);
        jobs.put(id, done);
        for (JobEventListener l : List.copyOf(watchers.get(id))) l.onEnd(done);
        watchers.get(id).clear();
        return done;
    }

    synchronized int watcherCount(String id) {
        return watchers.get(id).size();
    }

    private JobInfo require(String id) {
        JobInfo j = jobs.get(id);
        if (j == null) throw new JobException(JobException.Kind.NOT_FOUND, "id", "no job with id '" + id + "'");
        return j;
    }
}
