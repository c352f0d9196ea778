package io.tune4j.server;

import io.netty.handler.codec.http.HttpResponseStatus;

/** A complete response that {@link JsonCodec} turns into HTTP. */
record ApiResponse(HttpResponseStatus status, String contentType, byte[] body) {
    static ApiResponse json(Object value) {
        return new ApiResponse(HttpResponseStatus.OK, "application/json", Http.bytes(value));
    }

    static ApiResponse error(ApiException e) {
        return new ApiResponse(e.status, "application/json", Http.bytes(Http.errorBody(e)));
    }
}
