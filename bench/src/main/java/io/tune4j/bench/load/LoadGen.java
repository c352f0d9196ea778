package io.tune4j.bench.load;

import io.tune4j.bench.Machine;
import io.tune4j.bench.MarkdownTable;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Load generator for `tune4j serve`: writes a stories15M-shaped random-weight model and LoRA
 * adapters, starts the server on it as a separate process on 127.0.0.1, and drives it with
 * concurrent streaming /v1/completions clients. Prints (and writes as markdown) aggregate
 * throughput, time to first token and inter-token latency per client count, the 16-client /
 * 1-client throughput ratio, and the server's step time with 8 different adapters in the batch
 * against 8 rows of one adapter, each measured in this run.
 */
@Command(name = "loadgen", mixinStandardHelpOptions = true,
        description = "Drive `tune4j serve` with concurrent streaming clients and report throughput and latency.")
public final class LoadGen implements Callable<Integer> {
    static final String BASE = "stories15M-random";
    static final double THROUGHPUT_TARGET = 6.0;
    static final double ADAPTER_TARGET = 1.3;
    /** Fixed prompts (10-16 Llama 2 tokens each); client i sends prompt i mod 8. */
    static final List<String> PROMPTS = List.of(
            "Once upon a time, there was a little girl named Lily who loved",
            "The old man walked slowly down the road to the village market",
            "Tom and his dog went to the park on a sunny day to play",
            "In a small house near the forest lived a family of rabbits",
            "One day, a big red ball rolled into the garden and the cat",
            "The sun was shining and the birds were singing in the tall trees",
            "Sara wanted to bake a cake for her mother, so she went to",
            "Far away in the sea, a tiny fish named Ben swam with his friends");

    @Option(names = "--clients", split = ",", defaultValue = "1,4,16,64", description = "client counts to measure (default: ${DEFAULT-VALUE})")
    List<Integer> clients;

    @Option(names = "--max-tokens", defaultValue = "128", description = "tokens every request generates (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--requests", defaultValue = "8",
            description = "requests per client count, at least 2 per client (default: ${DEFAULT-VALUE})")
    int requests;

    @Option(names = "--rounds", defaultValue = "3",
            description = "rounds over all client counts; throughput is the median over rounds (default: ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--adapters", defaultValue = "8", description = "LoRA adapters for the mixed-batch case, 0 to skip (default: ${DEFAULT-VALUE})")
    int adapters;

    @Option(names = "--adapter-runs", defaultValue = "5", description = "runs of each adapter case; medians are reported (default: ${DEFAULT-VALUE})")
    int adapterRuns;

    @Option(names = "--max-batch", defaultValue = "64", description = "server --max-batch (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--server-threads", description = "server --threads (default: the server's, all cores)")
    Integer serverThreads;

    @Option(names = "--server-weights", defaultValue = "fp32", description = "server --weights: fp32 or bf16 (default: ${DEFAULT-VALUE})")
    String serverWeights;

    @Option(names = "--tokenizer", description = "Llama 2 tokenizer.bin (default: tokenizers/llama2/tokenizer.bin under the fixtures)")
    Path tokenizer;

    @Option(names = "--launcher", defaultValue = "./tune4j", description = "the tune4j launcher (default: ${DEFAULT-VALUE})")
    Path launcher;

    @Option(names = "--out", defaultValue = "bench/target/load-results.md", description = "markdown report (default: ${DEFAULT-VALUE})")
    Path out;

    public static void main(String[] args) {
        System.exit(new CommandLine(new LoadGen()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Path tok = tokenizer != null ? tokenizer : Fixtures.find("tokenizers/llama2/tokenizer.bin");
        Path work = Files.createTempDirectory("tune4j-loadgen");
        AtomicReference<ServerProcess> running = new AtomicReference<>();
        // Ctrl-C skips finally blocks: stop the server and drop the model files from a hook as well
        Thread cleanup = new Thread(() -> {
            ServerProcess sp = running.get();
            try {
                if (sp != null) sp.close();
                deleteTree(work);
            } catch (IOException | InterruptedException | RuntimeException ignored) {
                // best effort while the JVM exits
            }
        }, "loadgen-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            log("writing a stories15M-shaped random model and " + adapters + " LoRA adapters under " + work);
            BenchModel model = BenchModel.write(work, tok, adapters);
            List<String> cmd = serverCommand(model);
            log("starting " + String.join(" ", cmd));
            try (ServerProcess server = ServerProcess.start(cmd, 300)) {
                running.set(server);
                return measure(server, cmd);
            }
        } finally {
            running.set(null);
            deleteTree(work);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
    }

    private List<String> serverCommand(BenchModel model) {
        List<String> cmd = new ArrayList<>(List.of(launcher.toString(), "serve", "--model", model.dir.toString(),
                "--model-id", BASE, "--insecure", "--host", "127.0.0.1", "--port", "0",
                "--max-batch", Integer.toString(maxBatch),
                "--max-queued", Integer.toString(Math.max(64, 2 * Collections.max(clients))),
                "--max-tokens-cap", Integer.toString(maxTokens)));
        for (int a = 0; a < model.adapters.size(); a++) cmd.addAll(List.of("--adapter", adapterName(a) + "=" + model.adapters.get(a)));
        if (serverThreads != null) cmd.addAll(List.of("--threads", serverThreads.toString()));
        cmd.addAll(List.of("--weights", serverWeights));
        return cmd;
    }

    private static String adapterName(int a) {
        return "lora-" + a;
    }

    private int measure(ServerProcess server, List<String> cmd) throws Exception {
        HttpClient http = LoadScenario.httpClient();
        StreamingClient client = new StreamingClient(http, server.uri(), maxTokens);
        LoadScenario load = new LoadScenario(client, PROMPTS, server::cpuSeconds);
        IntFunction<String> base = i -> BASE;

        String loadBefore = Machine.loadAverage();
        log("warm-up");
        load.run(4, 2, base);
        List<ClientCountResult> results = new ArrayList<>();
        for (int n : clients) results.add(new ClientCountResult(n));
        for (int round = 1; round <= rounds; round++) {
            for (ClientCountResult c : results) {
                int each = Math.max(2, (requests + c.clients - 1) / c.clients);
                ScenarioResult r = load.run(c.clients, each, base);
                c.rounds.add(r);
                log(String.format(Locale.ROOT, "round %d: %d clients x %d requests: %.1f tok/s", round, c.clients, each,
                        r.tokensPerSecond()));
            }
        }

        double[][] steps = new double[3][adapterRuns];
        if (adapters > 0) {
            AdapterMixScenario mix = new AdapterMixScenario(client, new StepTimeProbe(http, server.uri()), PROMPTS);
            List<IntFunction<String>> cases = List.of(base, i -> adapterName(0), i -> adapterName(i % adapters));
            mix.run(adapters, cases.get(2)); // warm-up: every adapter once
            for (int run = 0; run < adapterRuns; run++) {
                for (int c = 0; c < cases.size(); c++) steps[c][run] = mix.run(adapters, cases.get(c)).meanMillis();
                log(String.format(Locale.ROOT, "adapter run %d: base %.3f ms, one adapter %.3f ms, %d adapters %.3f ms",
                        run + 1, steps[0][run], steps[1][run], adapters, steps[2][run]));
            }
        }
        String report = report(results, steps, cmd, loadBefore + " before, " + Machine.loadAverage() + " after");
        System.out.println(report);
        Machine.writeAtomically(out, report);
        log("written to " + out);
        return 0;
    }

    private String report(List<ClientCountResult> results, double[][] steps, List<String> cmd, String load) {
        StringBuilder md = new StringBuilder("# tune4j serve under load\n\n");
        Map<String, String> m = new LinkedHashMap<>();
        m.put("date", Machine.now());
        m.put("commit", Machine.gitCommit());
        m.put("CPU", Machine.cpuModel());
        m.put("cores (logical)", Integer.toString(Machine.cores()));
        m.put("JDK", Machine.jdk());
        m.put("load average (1 min)", load + " (other work on the machine shares its cores)");
        m.put("model", "stories15M shape (dim 288, 6 layers, 6 heads, vocab 32000), random weights, F32");
        m.put("requests", "streaming /v1/completions, prompts of 10-16 tokens, " + maxTokens
                + " tokens each (temperature 0, ignore_eos), closed loop");
        m.put("server", "separate process: " + String.join(" ", cmd.subList(1, cmd.size()))
                .replaceAll("(--adapter \\S+ ?)+", adapters > 0 ? "--adapter lora-0..lora-" + (adapters - 1) + "=DIR " : "")
                .replaceAll("--model \\S+", "--model DIR").trim() + (serverThreads == null ? " (threads: all cores)" : ""));
        for (Map.Entry<String, String> e : m.entrySet()) md.append("- ").append(e.getKey()).append(": ").append(e.getValue()).append('\n');

        md.append("\n## Concurrent streaming clients\n\n");
        List<String[]> rows = new ArrayList<>();
        ClientCountResult one = null, sixteen = null;
        for (ClientCountResult r : results) {
            if (r.clients == 1) one = r;
            if (r.clients == 16) sixteen = r;
            double[] tps = r.tokensPerSecond().clone();
            java.util.Arrays.sort(tps);
            Percentiles ttft = r.timeToFirstToken(), itl = r.interToken();
            rows.add(new String[] {Integer.toString(r.clients), Integer.toString(r.requests()), Long.toString(r.tokens()),
                    f("%.1f", r.medianTokensPerSecond()), f("%.1f - %.1f", tps[0], tps[tps.length - 1]),
                    f("%.1f", r.medianTokensPerSecond() / r.clients), f("%.3f", r.medianServerCpuMillisPerToken()),
                    ms(ttft.millis(50)), ms(ttft.millis(99)), ms(itl.millis(50)), ms(itl.millis(99))});
        }
        md.append(MarkdownTable.render(new String[] {"clients", "requests", "tokens", "aggregate tok/s (median)", "range",
                "tok/s per client", "server CPU ms/token", "TTFT p50", "TTFT p99", "ITL p50", "ITL p99"}, rows));
        if (one != null && sixteen != null) {
            // each round's two runs are minutes apart at most: their ratio is less exposed to drifting background load
            double[] perRound = new double[Math.min(one.rounds.size(), sixteen.rounds.size())];
            for (int i = 0; i < perRound.length; i++) {
                perRound[i] = sixteen.rounds.get(i).tokensPerSecond() / one.rounds.get(i).tokensPerSecond();
            }
            double ratio = Percentiles.median(perRound);
            java.util.Arrays.sort(perRound);
            md.append(f("%naggregate throughput, 16 clients / 1 client: %.2fx (median of %d rounds, range %.2f - %.2fx; "
                            + "target >= %.1fx): %s%n", ratio, perRound.length, perRound[0], perRound[perRound.length - 1],
                    THROUGHPUT_TARGET, ratio >= THROUGHPUT_TARGET ? "PASS" : "MISS"));
            md.append(f("server CPU per token, 1 client / 16 clients: %.2fx (what batching saves, whatever the machine's other load)%n",
                    one.medianServerCpuMillisPerToken() / sixteen.medianServerCpuMillisPerToken()));
        }
        md.append("\nTTFT: request sent to first streamed text. ITL: gap between consecutive streamed text events. "
                + "Latency percentiles pool the requests of all " + rounds + " rounds.\n");

        if (adapters > 0) {
            md.append(f("%n## %d LoRA adapters in one batch (r=16 on q, k, v, o)%n%n", adapters));
            String[] labels = {"base model", "one adapter (all rows on " + adapterName(0) + ")",
                    adapters + " adapters (one per row)"};
            double oneAdapter = Percentiles.median(steps[1]);
            List<String[]> arows = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                double med = Percentiles.median(steps[c]);
                double[] sorted = steps[c].clone();
                java.util.Arrays.sort(sorted);
                arows.add(new String[] {labels[c], f("%.3f ms", med), f("%.3f - %.3f ms", sorted[0], sorted[sorted.length - 1]),
                        f("%.2fx", med / oneAdapter)});
            }
            md.append(MarkdownTable.render(new String[] {adapters + " streaming clients, rows on", "server step (median of "
                    + adapterRuns + " runs)", "range", "vs one adapter"}, arows));
            double ratio = Percentiles.median(steps[2]) / oneAdapter;
            md.append(f("%nstep time, %d adapters / one adapter: %.3f (target <= %.1f): %s%n", adapters, ratio, ADAPTER_TARGET,
                    ratio <= ADAPTER_TARGET ? "PASS" : "MISS"));
            md.append("\nServer step: mean of tune4j_step_duration_seconds (/metrics) between the moment every stream has its first "
                    + "token and the end of the first stream, so every step averaged decodes all " + adapters + " rows.\n");
        }
        return md.toString();
    }

    private static String ms(double v) {
        return f("%.1f ms", v);
    }

    private static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }

    private static void log(String s) {
        System.err.println("loadgen: " + s);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
