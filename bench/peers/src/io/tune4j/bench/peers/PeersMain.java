package io.tune4j.bench.peers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Single-stream greedy decoding, tune4j against Jlama and llama.cpp, on the same random-weight models.
 *
 *   prepare DIR                    writes the HF directories (f32, bf16) and GGUF files (f32, bf16, q8_0)
 *   run SIDE SHAPE PRECISION DIR   one measurement in this JVM; prints a RESULT line
 *   table FILE                     medians and ratios of the RESULT lines in FILE, as markdown
 *
 * Each measurement runs in its own JVM, so no side's threads or JIT state disturb another's.
 */
public final class PeersMain {
    public static void main(String[] args) throws Exception {
        // the batch sides' pool threads and java-llama.cpp's natives must not keep a finished run alive
        switch (args[0]) {
            case "prepare" -> Models.prepare(Path.of(args[1]));
            case "run" -> {
                Side side = Side.of(args[1]);
                Models.Shape shape = Models.Shape.valueOf(args[2]);
                String precision = args[3];
                Path dir = Path.of(args[4]);
                int tokens = Integer.getInteger("peers.tokens", 128);
                int threads = Integer.getInteger("peers.threads", 2);
                Measurement m = side.measure(shape, precision, dir, tokens, threads);
                System.out.printf(java.util.Locale.ROOT, "RESULT %s %s %s %.3f %d %.3f%n", side.name(), shape, precision,
                        m.decodeTokensPerSecond(), m.generated(), m.prefillMs());
                System.out.flush();
                // java-llama.cpp leaves non-daemon native threads behind that keep the JVM from exiting
                Runtime.getRuntime().halt(0);
            }
            case "table" -> table(Path.of(args[1]));
            default -> throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }

    /** Decode rate after the first token, how many tokens were generated, and the prompt's time to first token. */
    record Measurement(double decodeTokensPerSecond, int generated, double prefillMs) {}

    interface Side {
        String name();

        Measurement measure(Models.Shape shape, String precision, Path dir, int tokens, int threads) throws Exception;

        static Side of(String name) {
            return switch (name) {
                case "tune4j" -> new Tune4jSide();
                case "jlama" -> new JlamaSide();
                case "llamacpp" -> new LlamaCppSide();
                case "tune4j-batch" -> simple("tune4j-batch", BatchSides::tune4j);
                case "llamacpp-batch" -> simple("llamacpp-batch", BatchSides::llamaCpp);
                default -> throw new IllegalArgumentException("unknown side " + name);
            };
        }
    }

    interface Measure {
        Measurement apply(Models.Shape shape, String precision, Path dir, int tokens, int threads) throws Exception;
    }

    static Side simple(String name, Measure m) {
        return new Side() {
            public String name() {
                return name;
            }

            public Measurement measure(Models.Shape s, String p, Path dir, int tokens, int threads) throws Exception {
                return m.apply(s, p, dir, tokens, threads);
            }
        };
    }

    static void table(Path file) throws Exception {
        Map<String, List<Double>> rates = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            if (!line.startsWith("RESULT ")) continue;
            String[] f = line.split(" ");
            rates.computeIfAbsent(f[1] + " " + f[2] + " " + f[3], k -> new ArrayList<>()).add(Double.parseDouble(f[4]));
        }
        System.out.println("| shape | precision | tune4j tok/s | Jlama tok/s | tune4j / Jlama (target >= 2) "
                + "| llama.cpp tok/s | tune4j / llama.cpp (target >= 1.0) |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (Models.Shape s : Models.Shape.values()) {
            for (String p : List.of("f32", "bf16", "q8_0")) {
                Double ours = median(rates.get("tune4j " + s + " " + (p.equals("q8_0") ? "bf16" : p)));
                Double jl = median(rates.get("jlama " + s + " " + p));
                Double cpp = median(rates.get("llamacpp " + s + " " + p));
                if (ours == null || (jl == null && cpp == null)) continue;
                String oursCell = p.equals("q8_0") ? fmt(ours) + " (bf16, our best)" : fmt(ours);
                System.out.printf("| %s | %s | %s | %s | %s | %s | %s |%n", s.label, p, oursCell, fmt(jl), ratio(ours, jl, 2.0),
                        fmt(cpp), ratio(ours, cpp, 1.0));
            }
        }
        System.out.println();
        System.out.println("| " + BatchSides.STREAMS + " streams | precision | tune4j tok/s (all streams) | llama.cpp tok/s "
                + "(parallel slots, continuous batching) | tune4j / llama.cpp | Jlama |");
        System.out.println("|---|---|---|---|---|---|");
        for (Models.Shape s : Models.Shape.values()) {
            for (String p : List.of("f32", "bf16")) {
                Double ours = median(rates.get("tune4j-batch " + s + " " + p));
                Double cpp = median(rates.get("llamacpp-batch " + s + " " + p));
                if (ours == null && cpp == null) continue;
                System.out.printf("| %s | %s | %s | %s | %s | n/a (one prompt a generate call) |%n", s.label, p, fmt(ours),
                        fmt(cpp), ratio(ours, cpp, 1.0));
            }
        }
    }

    private static String fmt(Double d) {
        return d == null ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f", d);
    }

    private static String ratio(Double ours, Double peer, double target) {
        if (ours == null || peer == null) return "n/a";
        double r = ours / peer;
        return String.format(java.util.Locale.ROOT, "%.2fx %s", r, r >= target ? "PASS" : "MISS");
    }

    static Double median(List<Double> xs) {
        if (xs == null || xs.isEmpty()) return null;
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
