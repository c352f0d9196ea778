package io.tune4j.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.tune4j.grpc.v1.CancelJobRequest;
import io.tune4j.grpc.v1.CreateJobRequest;
import io.tune4j.grpc.v1.GetJobRequest;
import io.tune4j.grpc.v1.Job;
import io.tune4j.grpc.v1.ListJobsRequest;
import io.tune4j.grpc.v1.ListJobsResponse;
import io.tune4j.grpc.v1.WatchJobRequest;
import io.tune4j.grpc.v1.WatchJobResponse;
import io.tune4j.server.jobs.JobException;
import io.tune4j.server.jobs.JobInfo;
import io.tune4j.server.jobs.JobRequest;
import io.tune4j.server.jobs.JobService;
import java.util.List;
import java.util.Map;

/** The job RPCs: thin adapters over {@link JobService}, which the HTTP job endpoints share. */
final class GrpcJobCalls {
    static final int DEFAULT_LIMIT = 20;
    static final int MAX_LIMIT = 100;

    private final JobService jobs; // null: the server has no --data-dir
    private final String baseModelId;

    GrpcJobCalls(JobService jobs, String baseModelId) {
        this.jobs = jobs;
        this.baseModelId = baseModelId;
    }

    void create(CreateJobRequest r, StreamObserver<Job> out) {
        unary(out, () -> {
            if (r.getTrainingFile().isEmpty()) throw new JobException(JobException.Kind.INVALID, "training_file", "training_file is required");
            Map<String, Object> hp = GrpcJobMessages.plain(r.getHyperparameters());
            JobRequest req = new JobRequest(r.getModel().isEmpty() ? baseModelId : r.getModel(), r.getTrainingFile(),
                    blankToNull(r.getValidationFile()), blankToNull(r.getMethodType()), hp, blankToNull(r.getSuffix()),
                    r.hasSeed() ? r.getSeed() : null);
            return GrpcJobMessages.job(service().create(req));
        });
    }

    void get(GetJobRequest r, StreamObserver<Job> out) {
        unary(out, () -> GrpcJobMessages.job(service().get(id(r.getId()))
                .orElseThrow(() -> notFound(r.getId()))));
    }

    void cancel(CancelJobRequest r, StreamObserver<Job> out) {
        unary(out, () -> GrpcJobMessages.job(service().cancel(id(r.getId()))));
    }

    void list(ListJobsRequest r, StreamObserver<ListJobsResponse> out) {
        unary(out, () -> {
            int limit = r.getLimit() == 0 ? DEFAULT_LIMIT : r.getLimit();
            if (limit < 1 || limit > MAX_LIMIT) {
                throw new JobException(JobException.Kind.INVALID, "limit", "limit must be between 1 and " + MAX_LIMIT + ", got " + limit);
            }
            // one more than asked says whether another page follows
            List<JobInfo> page = service().list(limit + 1, blankToNull(r.getAfter()));
            ListJobsResponse.Builder b = ListJobsResponse.newBuilder().setHasMore(page.size() > limit);
            for (JobInfo j : page.subList(0, Math.min(limit, page.size()))) b.addJobs(GrpcJobMessages.job(j));
            return b.build();
        });
    }

    void watch(WatchJobRequest r, StreamObserver<WatchJobResponse> out) {
        GrpcJobWatch watch = new GrpcJobWatch((ServerCallStreamObserver<WatchJobResponse>) out, r.getAfterSeq());
        try {
            if (r.getAfterSeq() < 0) throw new JobException(JobException.Kind.INVALID, "after_seq", "after_seq must be >= 0");
            watch.bind(service().watch(id(r.getId()), r.getAfterSeq(), watch));
        } catch (RuntimeException e) {
            watch.fail(e);
        }
    }

    private JobService service() {
        if (jobs == null) throw Status.UNAVAILABLE.withDescription("training jobs need --data-dir").asRuntimeException();
        return jobs;
    }

    private static String id(String id) {
        if (id.isEmpty()) throw new JobException(JobException.Kind.INVALID, "id", "id is required");
        return id;
    }

    private static JobException notFound(String id) {
        return new JobException(JobException.Kind.NOT_FOUND, "id", "no job with id '" + id + "'");
    }

    private static String blankToNull(String s) {
        return s.isEmpty() ? null : s;
    }

    private static <T> void unary(StreamObserver<T> out, java.util.function.Supplier<T> body) {
        T result;
        try {
            result = body.get();
        } catch (RuntimeException e) {
            out.onError(GrpcStatus.of(e));
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }
}
