package io.tune4j.server;

import io.netty.handler.codec.http.HttpResponseStatus;

/** A request that fails with an OpenAI-style error object. */
public final class ApiException extends RuntimeException {
    final HttpResponseStatus status;
    final String type;
    final String param;
    final String code;

    public ApiException(HttpResponseStatus status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiException badRequest(String param, String message) {
        return new ApiException(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", param, null, message);
    }

    /** A job or file request the service refused, as an OpenAI error naming the field. */
    static ApiException from(io.tune4j.server.jobs.JobException e) {
        return switch (e.kind) {
            case INVALID -> badRequest(e.param, e.getMessage());
            case NOT_FOUND -> new ApiException(HttpResponseStatus.NOT_FOUND, "invalid_request_error", e.param,
                    "model".equals(e.param) ? "model_not_found" : "not_found", e.getMessage());
            case CONFLICT -> new ApiException(HttpResponseStatus.CONFLICT, "invalid_request_error", e.param, "conflict", e.getMessage());
            case FORBIDDEN -> new ApiException(HttpResponseStatus.FORBIDDEN, "permission_error", e.param, "path_not_allowed",
                    e.getMessage());
        };
    }

    static ApiException notFound(String code, String message) {
        return new ApiException(HttpResponseStatus.NOT_FOUND, "invalid_request_error", null, code, message);
    }
}
