package io.tune4j.server;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.tune4j.grpc.v1.CancelJobRequest;
import io.tune4j.grpc.v1.CreateJobRequest;
import io.tune4j.grpc.v1.GenerateRequest;
import io.tune4j.grpc.v1.GenerateResponse;
import io.tune4j.grpc.v1.GetJobRequest;
import io.tune4j.grpc.v1.Job;
import io.tune4j.grpc.v1.ListJobsRequest;
import io.tune4j.grpc.v1.ListJobsResponse;
import io.tune4j.grpc.v1.ListModelsRequest;
import io.tune4j.grpc.v1.ListModelsResponse;
import io.tune4j.grpc.v1.Model;
import io.tune4j.grpc.v1.Tune4jGrpc;
import io.tune4j.grpc.v1.WatchJobRequest;
import io.tune4j.grpc.v1.WatchJobResponse;
import io.tune4j.server.jobs.JobService;

/** tune4j.v1.Tune4j: generation goes to the same {@link Scheduler} as HTTP, jobs to the {@link JobService}. */
final class GrpcService extends Tune4jGrpc.Tune4jImplBase {
    private final Services s;
    private final GrpcJobCalls jobs;

    GrpcService(Services s, JobService jobs) {
        this.s = s;
        this.jobs = new GrpcJobCalls(jobs, s.modelId());
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> out) {
        GenerationRequest.Checked req;
        try {
            req = GrpcGenerateRequest.check(request, s);
        } catch (RuntimeException e) {
            out.onError(GrpcStatus.of(e));
            return;
        }
        GrpcGenerateStream stream = new GrpcGenerateStream((ServerCallStreamObserver<GenerateResponse>) out, req.model());
        Scheduler.Job job = req.toJob(stream, s.options());
        stream.bind(job);
        if (!s.scheduler().trySubmit(job)) {
            out.onError(s.scheduler().accepting()
                    ? io.grpc.Status.RESOURCE_EXHAUSTED.withDescription("the server is handling as many requests as it allows; "
                            + "retry shortly").asRuntimeException()
                    : io.grpc.Status.UNAVAILABLE.withDescription("the server is shutting down").asRuntimeException());
        }
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> out) {
        ListModelsResponse.Builder b = ListModelsResponse.newBuilder()
                .addModels(Model.newBuilder().setId(s.modelId()).setCreated(s.createdEpochSeconds()));
        for (String name : s.adapters().all().keySet()) {
            b.addModels(Model.newBuilder().setId(name).setParent(s.modelId()).setCreated(s.createdEpochSeconds()));
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void createJob(CreateJobRequest request, StreamObserver<Job> out) {
        jobs.create(request, out);
    }

    @Override
    public void getJob(GetJobRequest request, StreamObserver<Job> out) {
        jobs.get(request, out);
    }

    @Override
    public void watchJob(WatchJobRequest request, StreamObserver<WatchJobResponse> out) {
        jobs.watch(request, out);
    }

    @Override
    public void cancelJob(CancelJobRequest request, StreamObserver<Job> out) {
        jobs.cancel(request, out);
    }

    @Override
    public void listJobs(ListJobsRequest request, StreamObserver<ListJobsResponse> out) {
        jobs.list(request, out);
    }
}
