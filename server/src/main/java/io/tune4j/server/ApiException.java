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

    static ApiException notFound(String code, String message) {
        return new ApiException(HttpResponseStatus.NOT_FOUND, "invalid_request_error", null, code, message);
    }
}
