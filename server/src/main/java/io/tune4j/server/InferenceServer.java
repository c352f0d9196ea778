package io.tune4j.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.tune4j.model.LoadedModel;
import io.tune4j.runtime.NativeMemory;
import io.tune4j.server.jobs.DiskJobService;
import io.tune4j.server.jobs.FileStore;
import io.tune4j.server.jobs.JobService;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The OpenAI-compatible server: Netty event loops parse HTTP/1.1 and HTTP/2 (h2c by upgrade or
 * prior knowledge) and never wait on the model, which runs on the {@link Scheduler}'s thread.
 */
public final class InferenceServer implements AutoCloseable {
    private final Services services;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Channel channel;
    private final URI uri;
    private final GrpcEndpoint grpc; // null unless --grpc-port
    private final DiskJobService ownJobs; // the jobs this server runs (null: none, or the caller's service)
    private volatile boolean closed;

    private InferenceServer(Services services, EventLoopGroup boss, EventLoopGroup workers, Channel channel, URI uri,
                            GrpcEndpoint grpc, DiskJobService ownJobs) {
        this.services = services;
        this.boss = boss;
        this.workers = workers;
        this.channel = channel;
        this.uri = uri;
        this.grpc = grpc;
        this.ownJobs = ownJobs;
    }

    /**
     * Starts serving the loaded model (owned by the caller, who closes it after the server).
     *
     * @param modelPath where the model came from, to find its chat template (may be null: ChatML)
     * @param log where access-log lines go (stderr in the CLI)
     */
    public static InferenceServer start(LoadedModel model, Path modelPath, ServerOptions o, PrintStream log) {
        return start(model, modelPath, o, log, null);
    }

    /**
     * As {@link #start(LoadedModel, Path, ServerOptions, PrintStream)}, with the fine-tuning jobs
     * the HTTP and gRPC job calls serve. With null, a server with a data directory (and a model
     * path) runs its own {@link DiskJobService} there; without one the job calls answer
     * unavailable.
     */
    public static InferenceServer start(LoadedModel model, Path modelPath, ServerOptions o, PrintStream log, JobService jobs) {
        if (o.keys.isEmpty() && !o.insecure) {
            throw new IllegalArgumentException("no API key configured: pass --api-keys FILE or set TUNE4J_API_KEY "
                    + "(or --insecure to serve without keys on loopback only)");
        }
        String host = o.host;
        if (o.keys.isEmpty()) host = InetAddress.getLoopbackAddress().getHostAddress();
        if (o.grpcPort < -1 || o.grpcPort > 65535) {
            throw new IllegalArgumentException("--grpc-port must be a port 0-65535 (0 picks a free one), got " + o.grpcPort);
        }
        if (o.maxBatch < 1) throw new IllegalArgumentException("--max-batch must be >= 1, got " + o.maxBatch);
        if (o.idleTimeoutMillis < 0) throw new IllegalArgumentException("--idle-timeout must be >= 0, got " + o.idleTimeoutMillis / 1000);
        if (o.slowClientTimeoutMillis < 0) {
            throw new IllegalArgumentException("--slow-client-timeout must be >= 0, got " + o.slowClientTimeoutMillis / 1000);
        }
        if (o.maxStreamBacklogBytes < 1) throw new IllegalArgumentException("--max-stream-backlog must be >= 1, got " + o.maxStreamBacklogBytes);
        Path dataDir = o.dataDir == null ? null : DataDir.open(o.dataDir);
        Set<Path> startupDirs = new HashSet<>();
        Map<String, Path> startup = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, Path> a : o.adapters.entrySet()) {
            try {
                Path real = a.getValue().toRealPath();
                startupDirs.add(real);
                startup.put(a.getKey(), real);
            } catch (IOException e) {
                throw new IllegalArgumentException("--adapter " + a.getKey() + "=" + a.getValue() + ": no such directory");
            }
        }
        String modelId = o.modelId != null ? o.modelId
                : modelPath == null ? "model" : modelPath.toAbsolutePath().normalize().getFileName().toString();
        for (String name : startup.keySet()) AdapterRegistry.checkName(name, modelId);
        Metrics metrics = new Metrics();
        // tensors live outside the heap: what they hold shows only in these
        metrics.gauge("tune4j_native_memory_bytes", "Native memory held: tensors allocated, model files mapped.", "kind",
                () -> Map.of("allocated", NativeMemory.allocatedBytes(), "mapped", NativeMemory.mappedBytes()));
        metrics.gauge("process_resident_memory_bytes", "Resident set size of the whole process.",
                org.bytedeco.javacpp.Pointer::physicalBytes);
        int context = Math.min(o.maxContext, model.config().maxPositions());
        Scheduler scheduler = new Scheduler(model.model(), model.tokenizer(), o.maxBatch, context, o.maxInFlight, metrics);
        AdapterRegistry registry = new AdapterRegistry(dataDir, startupDirs);
        try {
            // check each startup adapter loads before announcing readiness (LoRA adapters stay loaded)
            for (Map.Entry<String, Path> a : startup.entrySet()) {
                scheduler.load(a.getKey(), a.getValue()).get(5, TimeUnit.MINUTES);
                registry.put(a.getKey(), a.getValue());
            }
        } catch (Exception e) {
            scheduler.close();
            Throwable c = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("cannot load a startup adapter: " + c.getMessage(), c);
        }
        FileStore files = dataDir == null ? null : new FileStore(dataDir, o.maxUploadBytes);
        DiskJobService own = null;
        if (jobs == null && dataDir != null && modelPath != null) {
            try {
                own = DiskJobService.open(dataDir, files, new DiskJobService.Settings(modelId, modelPath, o.tokenizer,
                        model.config().maxPositions(), o.jobStepPauseMillis), registrar(scheduler, registry, modelId));
            } catch (RuntimeException e) {
                scheduler.close();
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            metrics.gauge("tune4j_jobs", "Fine-tuning jobs by state.", "state", own::countByStatus);
            jobs = own;
        }
        ExecutorService blocking = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "tune4j-blocking");
            t.setDaemon(true);
            return t;
        });
        Services s = new Services(scheduler, metrics, registry, o, modelId, ChatPrompt.forModel(modelPath),
                System.currentTimeMillis() / 1000, jobs, files, blocking);
        if (own != null) own.start(); // registers the adapters of earlier jobs, then resumes or starts the queue
        EventLoopGroup boss = new NioEventLoopGroup(1);
        EventLoopGroup workers = new NioEventLoopGroup(o.ioThreads);
        Channel ch = null;
        int listening = o.port;
        try {
            ServerBootstrap bootstrap = new ServerBootstrap();
            if (o.socketSendBufferBytes > 0) bootstrap.childOption(ChannelOption.SO_SNDBUF, o.socketSendBufferBytes);
            ch = bootstrap.group(boss, workers).channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 256)
                    // past the high mark a channel is unwritable and its streams hold text back (SseStream)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                            new WriteBufferWaterMark(o.writeBufferHighWaterMark / 2, o.writeBufferHighWaterMark))
                    .childHandler(new ConnectionInitializer(s, log))
                    .bind(host, o.port).sync().channel();
            int port = ((InetSocketAddress) ch.localAddress()).getPort();
            GrpcEndpoint grpc = null;
            if (o.grpcPort >= 0) {
                listening = o.grpcPort;
                grpc = GrpcEndpoint.start(s, jobs, host, o.grpcPort, boss, workers);
            }
            String h = host.contains(":") ? "[" + host + "]" : host;
            return new InferenceServer(s, boss, workers, ch, URI.create("http://" + h + ":" + port), grpc, own);
        } catch (Exception e) {
            if (ch != null) ch.close().syncUninterruptibly();
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            if (own != null) own.close();
            blocking.shutdownNow();
            scheduler.close();
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException("cannot listen on " + host + ":" + listening + ": " + e.getMessage(), e));
        }
    }

    /** A finished job's adapter goes through the same checks and loading as POST /v1/adapters. */
    private static DiskJobService.AdapterRegistrar registrar(Scheduler scheduler, AdapterRegistry registry, String modelId) {
        return (name, dir) -> {
            try {
                return AdaptersEndpoint.register(scheduler, registry, modelId, name, dir.toString());
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
        };
    }

    public URI uri() {
        return uri;
    }

    public int port() {
        return uri.getPort();
    }

    /** The gRPC listener's address, or null when gRPC is off. */
    public InetSocketAddress grpcAddress() {
        return grpc == null ? null : grpc.address();
    }

    public String modelId() {
        return services.modelId();
    }

    public Metrics metrics() {
        return services.metrics();
    }

    public Scheduler scheduler() {
        return services.scheduler();
    }

    /** The fine-tuning jobs the job endpoints serve, or null. */
    public JobService jobs() {
        return services.jobs();
    }

    /**
     * Stops accepting connections and calls (HTTP and gRPC), stops the training worker (a running
     * job checkpoints and resumes at the next start), lets running generations finish within the
     * grace period (then cancels them, ending their streams with an error event or UNAVAILABLE),
     * and releases the model.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        channel.close().syncUninterruptibly();
        if (grpc != null) grpc.stopAccepting();
        if (ownJobs != null) ownJobs.close();
        services.scheduler().shutdown(services.options().shutdownGraceMillis);
        services.blocking().shutdown();
        if (grpc != null) grpc.awaitStopped(2000);
        // let the last writes (final SSE events) leave before the loops stop
        workers.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 500, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }

    /** Per connection: h2c by upgrade or prior knowledge, else HTTP/1.1. */
    private static final class ConnectionInitializer extends ChannelInitializer<SocketChannel> {
        private final Services s;
        private final PrintStream log;

        ConnectionInitializer(Services s, PrintStream log) {
            this.s = s;
            this.log = log;
        }

        @Override
        protected void initChannel(SocketChannel ch) {
            int maxBody = s.options().maxBodyBytes;
            if (s.options().idleTimeoutMillis > 0) ch.pipeline().addLast(new IdleConnectionHandler(s.options().idleTimeoutMillis, s.metrics()));
            HttpServerCodec http1 = new HttpServerCodec();
            HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(http1, protocol ->
                    AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol)
                            ? new Http2ServerUpgradeCodec(Http2FrameCodecBuilder.forServer().build(),
                                    new Http2MultiplexHandler(new StreamInitializer(s, log)))
                            : null, maxBody);
            ChannelInitializer<Channel> priorKnowledge = new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel c) {
                    c.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(),
                            new Http2MultiplexHandler(new StreamInitializer(s, log)));
                }
            };
            ch.pipeline().addLast(new CleartextHttp2ServerUpgradeHandler(http1, upgrade, priorKnowledge));
            ch.pipeline().addLast(new SimpleChannelInboundHandler<HttpMessage>() {
                // reached only by HTTP/1 requests that did not upgrade: from here on this is an HTTP/1 connection
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, HttpMessage msg) {
                    ChannelPipeline p = ctx.pipeline();
                    String me = ctx.name();
                    addApplication(p, me, s, log);
                    p.remove(this);
                    ctx.fireChannelRead(ReferenceCountUtil.retain(msg));
                }
            });
        }
    }

    /** Per HTTP/2 stream: frames to HTTP objects, then the same handlers as HTTP/1. */
    private static final class StreamInitializer extends ChannelInitializer<Channel> {
        private final Services s;
        private final PrintStream log;

        StreamInitializer(Services s, PrintStream log) {
            this.s = s;
            this.log = log;
        }

        @Override
        protected void initChannel(Channel ch) {
            ch.pipeline().addLast("h2-to-http", new Http2StreamFrameToHttpObjectCodec(true));
            addApplication(ch.pipeline(), "h2-to-http", s, log);
        }
    }

    private static void addApplication(ChannelPipeline p, String after, Services s, PrintStream log) {
        int maxBody = s.options().maxBodyBytes;
        p.addAfter(after, "router", new Router(s));
        p.addAfter(after, "json", new JsonCodec());
        p.addAfter(after, "auth", new AuthHandler(s.options().keys));
        int maxUpload = s.files() == null ? maxBody : s.options().maxUploadBytes;
        p.addAfter(after, "aggregate", new LimitsHandler.Aggregator(Math.max(maxBody, maxUpload)));
        p.addAfter(after, "limits", new LimitsHandler(maxBody, maxUpload));
        p.addAfter(after, "access-log", new AccessLogHandler(s.metrics(), log));
        p.addAfter(after, "request-tracker", new IdleConnectionHandler.RequestTracker());
    }
}
