package io.tune4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.handler.codec.http.HttpHeaders;

/** A decoded request: method, path without the query, headers and the JSON body (null when none). */
record ApiRequest(String method, String path, HttpHeaders headers, JsonNode body) {}
