package io.tune4j.server;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.tune4j.generate.PromptTooLongException;
import io.tune4j.server.jobs.JobException;
import java.util.concurrent.CancellationException;

/** The gRPC status for each failure the HTTP side answers with an OpenAI error object. */
final class GrpcStatus {
    private GrpcStatus() {}

    static StatusRuntimeException of(Throwable e) {
        return status(e).asRuntimeException();
    }

    static Status status(Throwable e) {
        if (e instanceof StatusRuntimeException s) return s.getStatus();
        String m = String.valueOf(e.getMessage());
        if (e instanceof ApiException a) return fromHttp(a.status.code()).withDescription(m);
        if (e instanceof JobException j) {
            return switch (j.kind) {
                case INVALID -> Status.INVALID_ARGUMENT.withDescription(m);
                case NOT_FOUND -> Status.NOT_FOUND.withDescription(m);
                case CONFLICT -> Status.FAILED_PRECONDITION.withDescription(m);
                case FORBIDDEN -> Status.PERMISSION_DENIED.withDescription(m);
            };
        }
        if (e instanceof PromptTooLongException) return Status.INVALID_ARGUMENT.withDescription(m);
        if (e instanceof Scheduler.TimeoutException) return Status.DEADLINE_EXCEEDED.withDescription(m);
        if (e instanceof Scheduler.ShutdownException) return Status.UNAVAILABLE.withDescription(m);
        if (e instanceof CancellationException) return Status.CANCELLED.withDescription(m);
        if (e instanceof IllegalArgumentException) return Status.INVALID_ARGUMENT.withDescription(m);
        return Status.INTERNAL.withDescription("internal error: " + m).withCause(e);
    }

    private static Status fromHttp(int code) {
        return switch (code) {
            case 400, 413 -> Status.INVALID_ARGUMENT;
            case 401 -> Status.UNAUTHENTICATED;
            case 403 -> Status.PERMISSION_DENIED;
            case 404 -> Status.NOT_FOUND;
            case 409 -> Status.ALREADY_EXISTS;
            case 429 -> Status.RESOURCE_EXHAUSTED;
            case 503 -> Status.UNAVAILABLE;
            case 504 -> Status.DEADLINE_EXCEEDED;
            default -> Status.INTERNAL;
        };
    }
}
