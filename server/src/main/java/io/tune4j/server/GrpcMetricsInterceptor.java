package io.tune4j.server;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;

/** Counts every gRPC call by method and final status (refused by auth or cancelled by the client included). */
final class GrpcMetricsInterceptor implements ServerInterceptor {
    private final Metrics metrics;

    GrpcMetricsInterceptor(Metrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        long start = System.nanoTime();
        AtomicBoolean counted = new AtomicBoolean();
        ServerCall<Q, R> counting = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                if (counted.compareAndSet(false, true)) {
                    metrics.grpcRequest(method, status.getCode().name(), (System.nanoTime() - start) / 1e9);
                }
                super.close(status, trailers);
            }
        };
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(counting, headers)) {
            @Override
            public void onCancel() {
                if (counted.compareAndSet(false, true)) {
                    metrics.grpcRequest(method, Status.Code.CANCELLED.name(), (System.nanoTime() - start) / 1e9);
                }
                super.onCancel();
            }
        };
    }
}
