package io.tune4j.server;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.tune4j.server.jobs.JobService;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC listener. It runs on the HTTP server's boss and worker event loops (one Netty stack; the
 * loops stay owned by {@link InferenceServer}); calls run on gRPC's executor, never on the loops,
 * and model work stays on the {@link Scheduler} thread.
 */
final class GrpcEndpoint {
    private final Server server;

    private GrpcEndpoint(Server server) {
        this.server = server;
    }

    static GrpcEndpoint start(Services s, JobService jobs, String host, int port, EventLoopGroup boss, EventLoopGroup workers)
            throws IOException {
        GrpcService service = new GrpcService(s, jobs);
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
                .bossEventLoopGroup(boss)
                .workerEventLoopGroup(workers)
                .channelType(NioServerSocketChannel.class)
                .maxInboundMessageSize(s.options().maxBodyBytes)
                // the metrics interceptor is listed last so it runs first and also counts refused calls
                .addService(ServerInterceptors.intercept(service, new GrpcAuthInterceptor(s.options().keys),
                        new GrpcMetricsInterceptor(s.metrics())))
                .build();
        server.start();
        return new GrpcEndpoint(server);
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.getListenSockets().get(0);
    }

    /** Refuses new calls; calls already running go on (their generations end with the scheduler's shutdown). */
    void stopAccepting() {
        server.shutdown();
    }

    /** Waits for running calls to end (watches of still-running jobs are cut) and releases the port. */
    void awaitStopped(long millis) {
        try {
            if (!server.awaitTermination(millis, TimeUnit.MILLISECONDS)) {
                server.shutdownNow();
                server.awaitTermination(1, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
