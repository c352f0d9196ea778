package io.tune4j.bench;

import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaModel;
import io.tune4j.ops.Ops;
import io.tune4j.ops.SamplingParams;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.runtime.NativeLib;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where one batched decode step of the stories15M-shaped model spends its time, op by op: the
 * model runs on an {@link Ops} proxy that times every call. Each row is a sequence at its own
 * position (spread over the positions of a 16-token prompt plus 128 generated tokens, as a
 * server's batch is), and each step ends with greedy sampling of every row, as BatchDecoder does.
 * Proxy overhead (about a microsecond a call) is in the numbers.
 *
 * <p>{@code java ... io.tune4j.bench.DecodeStepProfile [rows ...]} (default 1 16 64);
 * -Dbench.threads as elsewhere.
 */
public final class DecodeStepProfile {
    private DecodeStepProfile() {}

    /** Accumulated time and calls per op name. */
    static final class Timings {
        final Map<String, long[]> byOp = new LinkedHashMap<>(); // name -> {nanos, calls}
        boolean on;

        void add(String op, long nanos) {
            long[] t = byOp.computeIfAbsent(op, k -> new long[2]);
            t[0] += nanos;
            t[1]++;
        }
    }

    static Ops timed(Ops inner, Timings t) {
        return (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[] {Ops.class}, (proxy, m, args) -> {
            long t0 = System.nanoTime();
            try {
                return m.invoke(inner, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                if (t.on && !isQuery(m)) t.add(m.getName(), System.nanoTime() - t0);
            }
        });
    }

    private static boolean isQuery(Method m) {
        return m.getName().endsWith("WorkspaceFloats") || m.getName().equals("name");
    }

    public static void main(String[] args) {
        List<Integer> rowCounts = new ArrayList<>();
        for (String a : args) rowCounts.add(Integer.parseInt(a));
        if (rowCounts.isEmpty()) rowCounts = List.of(1, 16, 64);
        NativeLib.t4j_set_num_threads(Env.threads());
        int steps = Integer.getInteger("bench.steps", 200);
        Timings timings = new Timings();
        Ops ops = timed(CpuOps.INSTANCE, timings);
        int V = Stories15M.CONFIG.vocabSize();
        try (Arena arena = new Arena();
             LlamaModel model = LlamaModel.fromWeights(Stories15M.CONFIG, Stories15M.weights(arena), ops)) {
            Tensor sampleWs = arena.f32(2L * V);
            Tensor history = arena.i32(Stories15M.CONFIG.maxPositions());
            System.out.printf(Locale.ROOT, "decode step profile, stories15M shape, %d threads, %d steps per row count%n",
                    Env.threads(), steps);
            for (int n : rowCounts) {
                timings.byOp.clear();
                int maxPos = Stories15M.PROMPT_TOKENS + Stories15M.NEW_TOKENS;
                try (InferenceContext ctx = model.newInferenceContext(n, maxPos + 1, Math.max(n, 256))) {
                    int[] slots = new int[n], start = new int[n];
                    int[][] tokens = new int[n][1];
                    for (int i = 0; i < n; i++) slots[i] = i;
                    long total = 0;
                    for (int s = -steps / 4; s < steps; s++) { // the first quarter warms up
                        for (int i = 0; i < n; i++) {
                            // rows spread over the generation: row i is (i * 128 / n + s) tokens into it
                            start[i] = Stories15M.PROMPT_TOKENS + Math.floorMod(i * Stories15M.NEW_TOKENS / n + s, Stories15M.NEW_TOKENS);
                            tokens[i][0] = Math.floorMod(s * 31 + i * 7, V);
                        }
                        timings.on = s >= 0;
                        long t0 = System.nanoTime();
                        Tensor logits = model.step(ctx, slots, tokens, start, null);
                        for (int i = 0; i < n; i++) {
                            ops.sample(logits.slice(i, i + 1), SamplingParams.GREEDY, history, 0, 0.5f, sampleWs);
                        }
                        if (s >= 0) total += System.nanoTime() - t0;
                    }
                    timings.on = false;
                    print(n, steps, total, timings);
                }
            }
        }
    }

    private static void print(int rows, int steps, long totalNanos, Timings t) {
        double stepMs = totalNanos / 1e6 / steps;
        System.out.printf(Locale.ROOT, "%n%d rows: %.3f ms per step, %.0f tokens/s%n", rows, stepMs, rows * 1000 / stepMs);
        List<Map.Entry<String, long[]>> ops = new ArrayList<>(t.byOp.entrySet());
        ops.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
        List<String[]> table = new ArrayList<>();
        long inOps = 0;
        for (Map.Entry<String, long[]> e : ops) {
            inOps += e.getValue()[0];
            double ms = e.getValue()[0] / 1e6 / steps;
            table.add(new String[] {e.getKey(), String.format(Locale.ROOT, "%.1f", (double) e.getValue()[1] / steps),
                    String.format(Locale.ROOT, "%.3f", ms), String.format(Locale.ROOT, "%.0f%%", 100 * ms / stepMs)});
        }
        double rest = (totalNanos - inOps) / 1e6 / steps;
        table.add(new String[] {"(Java between ops)", "", String.format(Locale.ROOT, "%.3f", rest),
                String.format(Locale.ROOT, "%.0f%%", 100 * rest / stepMs)});
        System.out.print(MarkdownTable.render(new String[] {"op", "calls/step", "ms/step", "share"}, table));
    }
}
