package io.tune4j.server;

import io.tune4j.cli.CommandPlugin;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.ModelLocator;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `tune4j serve`: an OpenAI-compatible HTTP server over one model (registered through {@link CommandPlugin}). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a model over an OpenAI-compatible HTTP API (HTTP/1.1 and h2c) with continuous batching.")
public final class ServeCommand implements Callable<Integer> {
    /** Lets ./tune4j find this command without the core depending on the server. */
    public static final class Plugin implements CommandPlugin {
        @Override
        public String name() {
            return "serve";
        }

        @Override
        public Object command() {
            return new ServeCommand();
        }
    }

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "PATH",
            description = "Hugging Face model directory, llama2.c .bin checkpoint, or hub id owner/name[@revision]")
    String model;

    @picocli.CommandLine.Mixin
    io.tune4j.cli.DeviceOptions device;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer file, when not beside the model")
    Path tokenizer;

    @Option(names = "--adapter", paramLabel = "NAME=DIR", description = "adapter to load at startup, requested as model NAME (repeatable)")
    Map<String, Path> adapters = new LinkedHashMap<>();

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to bind (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "port; 0 picks a free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--grpc-port", defaultValue = "-1", paramLabel = "N",
            description = "also serve gRPC (tune4j.v1.Tune4j, server/src/main/proto) on this port; 0 picks a free one "
                    + "(default: off, only when this flag is given)")
    int grpcPort;

    @Option(names = "--api-keys", paramLabel = "FILE", description = "API keys, one 'KEY SCOPE[,SCOPE]' a line (scopes: inference, admin)")
    Path apiKeys;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "holds uploaded files and fine-tuning jobs (which need it); created with mode 0700 if missing; "
            + "adapters loaded through POST /v1/adapters must lie under it")
    Path dataDir;

    @Option(names = "--insecure", description = "serve without API keys (binds to loopback only)")
    boolean insecure;

    @Option(names = "--max-batch", defaultValue = "8", description = "sequences decoded together (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--weights", defaultValue = "fp32", paramLabel = "fp32|bf16",
            description = "weights decoding streams: fp32 (default) or bf16 (half the bytes per token, fp32 sums; "
                    + "CPUs with AMX or AVX512-BF16)")
    String weights;

    @Option(names = "--max-queued", defaultValue = "64", description = "requests queued or running before 429 (default: ${DEFAULT-VALUE})")
    int maxQueued;

    @Option(names = "--max-tokens-cap", defaultValue = "1024", description = "largest max_tokens a request may ask (default: ${DEFAULT-VALUE})")
    int maxTokensCap;

    @Option(names = "--max-body", defaultValue = "1048576", description = "largest request body in bytes (default: ${DEFAULT-VALUE})")
    int maxBody;

    @Option(names = "--max-upload", defaultValue = "67108864", paramLabel = "BYTES",
            description = "largest file upload (POST /v1/files) in bytes (default: ${DEFAULT-VALUE})")
    int maxUpload;

    @Option(names = "--max-context", defaultValue = "0", description = "tokens per sequence; 0 = the model's context")
    int maxContext;

    @Option(names = "--request-timeout", defaultValue = "300", description = "seconds a request may queue and run (default: ${DEFAULT-VALUE})")
    long requestTimeout;

    @Option(names = "--idle-timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "close a keep-alive connection idle this long, never while a request on it runs; 0 = never (default: ${DEFAULT-VALUE})")
    long idleTimeout;

    @Option(names = "--slow-client-timeout", defaultValue = "30", paramLabel = "SECONDS",
            description = "cancel a stream whose client reads nothing this long; 0 = never (default: ${DEFAULT-VALUE})")
    long slowClientTimeout;

    @Option(names = "--max-stream-backlog", defaultValue = "262144", paramLabel = "BYTES",
            description = "cancel a stream whose client falls this far behind (default: ${DEFAULT-VALUE})")
    long maxStreamBacklog;

    @Option(names = "--model-id", description = "id clients use for the base model (default: the model directory's name)")
    String modelId;

    @Override
    public Integer call() throws Exception {
        ServerOptions o = new ServerOptions();
        o.host = host;
        o.port = port;
        o.grpcPort = grpcPort;
        o.keys = ApiKeys.load(apiKeys, System.getenv("TUNE4J_API_KEY"));
        o.insecure = insecure;
        o.dataDir = dataDir;
        o.adapters = adapters;
        o.maxBatch = maxBatch;
        o.maxInFlight = maxQueued;
        o.maxTokensCap = maxTokensCap;
        o.maxBodyBytes = maxBody;
        o.maxUploadBytes = maxUpload;
        o.tokenizer = tokenizer;
        if (maxContext > 0) o.maxContext = maxContext;
        o.requestTimeoutMillis = requestTimeout * 1000;
        o.modelId = modelId;
        o.idleTimeoutMillis = idleTimeout * 1000;
        o.slowClientTimeoutMillis = slowClientTimeout * 1000;
        o.maxStreamBacklogBytes = maxStreamBacklog;
        if (o.keys.isEmpty() && !insecure) {
            throw new IllegalArgumentException("no API key configured: pass --api-keys FILE or set TUNE4J_API_KEY "
                    + "(or --insecure to serve without keys on loopback only)");
        }
        io.tune4j.ops.MatmulPrecision decodeWeights = io.tune4j.generate.DecodingWeights.parse(weights);  // before the model loads
        Path modelPath = ModelLocator.resolve(model);
        if (o.modelId == null && !java.nio.file.Files.exists(Path.of(model))) o.modelId = model; // a hub id names itself
        try (LoadedModel m = LoadedModel.load(modelPath, tokenizer, device.selection())) {
            m.announceDevice(System.err);
            io.tune4j.generate.DecodingWeights.apply(m.model(), decodeWeights, System.err);
            InferenceServer server = InferenceServer.start(m, modelPath, o, System.err);
            CountDownLatch stopped = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                server.close();
                stopped.countDown();
            }, "tune4j-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            java.net.InetSocketAddress g = server.grpcAddress();
            System.err.println("tune4j: serving " + server.modelId() + " at " + server.uri() + "/v1"
                    + (g == null ? "" : " and gRPC at " + server.uri().getHost() + ":" + g.getPort())
                    + " (batch " + maxBatch + (o.keys.isEmpty() ? ", no API keys: loopback only" : "") + ")");
            stopped.await();
        }
        return 0;
    }
}
