package io.tune4j.server;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Locale;
import java.util.Set;

/**
 * The HTTP server's API keys for gRPC: {@code authorization: Bearer KEY} metadata; Generate and
 * ListModels need the inference scope, every other call (the jobs) admin. With no keys all pass.
 */
final class GrpcAuthInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final Set<String> INFERENCE_METHODS = Set.of("Generate", "ListModels");

    private final ApiKeys keys;

    GrpcAuthInterceptor(ApiKeys keys) {
        this.keys = keys;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (keys.isEmpty()) return next.startCall(call, headers);
        String header = headers.get(AUTHORIZATION);
        Set<ApiKeys.Scope> scopes = null;
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) scopes = keys.scopesOf(header.substring(7).strip());
        // unknown methods never reach a service, but default to the stricter scope anyway
        ApiKeys.Scope needed = INFERENCE_METHODS.contains(call.getMethodDescriptor().getBareMethodName())
                ? ApiKeys.Scope.INFERENCE : ApiKeys.Scope.ADMIN;
        Status denied = null;
        if (scopes == null) {
            denied = Status.UNAUTHENTICATED.withDescription(header == null
                    ? "missing API key: send metadata 'authorization: Bearer KEY'" : "incorrect API key");
        } else if (!scopes.contains(needed)) {
            denied = Status.PERMISSION_DENIED.withDescription("this API key lacks the '"
                    + needed.name().toLowerCase(Locale.ROOT) + "' scope");
        }
        if (denied == null) return next.startCall(call, headers);
        call.close(denied, new Metadata());
        return new ServerCall.Listener<>() {};
    }
}
