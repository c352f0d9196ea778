package io.tune4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.List;
import java.util.Map;

/**
 * A decoded request: method, path without the query, headers, the JSON body (null when none), the
 * query parameters, and for uploads (which are not JSON) the raw body instead (else null).
 */
record ApiRequest(String method, String path, HttpHeaders headers, JsonNode body, Map<String, List<String>> query,
                  byte[] content) {
    ApiRequest(String method, String path, HttpHeaders headers, JsonNode body) {
        this(method, path, headers, body, Map.of(), null);
    }

    /** The first value of a query parameter, or null. */
    String queryParam(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    /** Whether this is an upload, whose body {@link JsonCodec} passes on as bytes. */
    static boolean isUpload(String method, String path) {
        return method.equals("POST") && path.equals("/v1/files");
    }
}
