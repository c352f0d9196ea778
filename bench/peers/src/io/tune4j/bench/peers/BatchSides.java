package io.tune4j.bench.peers;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import io.tune4j.generate.DecodingWeights;
import io.tune4j.generate.GenerationConfig;
import io.tune4j.generate.GenerationResult;
import io.tune4j.generate.Generator;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.SamplingParams;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.runtime.NativeLib;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * STREAMS prompts decoded together: tune4j's batch decoder against llama.cpp's parallel slots with
 * continuous batching (one completion a Java thread). Jlama 0.8.4's generate serves one prompt a call,
 * so it has no row here. The rate is all streams' new tokens over the wall time, prefill included.
 */
final class BatchSides {
    static final int STREAMS = 16;

    private BatchSides() {}

    /** Distinct prompts, so no side can share one prefill. */
    static List<String> prompts() {
        List<String> p = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) p.add(Models.PROMPT + " man number " + i);
        return p;
    }

    static PeersMain.Measurement tune4j(Models.Shape shape, String precision, Path root, int tokens, int threads) {
        NativeLib.t4j_set_num_threads(threads);
        try (LoadedModel m = LoadedModel.load(Models.hfDir(root, shape, "f32"), null, CpuOps.INSTANCE);
             Generator g = new Generator(m.model(), m.tokenizer(), STREAMS)) {
            DecodingWeights.apply(m.model(), DecodingWeights.parse(precision.equals("f32") ? "fp32" : "bf16"), System.err);
            List<int[]> ids = new ArrayList<>();
            for (String s : prompts()) ids.add(m.tokenizer().encode(s, true));
            run(g, ids, 8); // warm-up
            long t0 = System.nanoTime();
            int n = run(g, ids, tokens);
            return new PeersMain.Measurement(n / ((System.nanoTime() - t0) / 1e9), n, 0);
        }
    }

    private static int run(Generator g, List<int[]> ids, int tokens) {
        GenerationConfig cfg = new GenerationConfig(tokens, SamplingParams.GREEDY, 0, List.of(), false);
        List<GenerationResult> r = g.generateBatch(ids, Collections.nCopies(ids.size(), cfg),
                Collections.nCopies(ids.size(), null));
        return r.stream().mapToInt(GenerationResult::completionTokens).sum();
    }

    static PeersMain.Measurement llamaCpp(Models.Shape shape, String precision, Path root, int tokens, int threads)
            throws Exception {
        ModelParameters p = new ModelParameters().setModel(Models.gguf(root, shape, precision).toString())
                .setCtxSize(STREAMS * 256).setThreads(threads).setThreadsBatch(threads).setParallel(STREAMS)
                .enableContBatching();
        ExecutorService pool = Executors.newFixedThreadPool(STREAMS);
        try (LlamaModel m = new LlamaModel(p)) {
            complete(m, pool, 8); // warm-up
            long t0 = System.nanoTime();
            int n = complete(m, pool, tokens);
            return new PeersMain.Measurement(n / ((System.nanoTime() - t0) / 1e9), n, 0);
        } finally {
            pool.shutdownNow();
        }
    }

    private static int complete(LlamaModel m, ExecutorService pool, int tokens) throws Exception {
        List<Future<?>> fs = new ArrayList<>();
        for (String prompt : prompts()) {
            fs.add(pool.submit(() -> m.complete(new InferenceParameters(prompt).setTemperature(0f).setTopK(1)
                    .setNPredict(tokens).setRepeatPenalty(1f).setIgnoreEos(true).setCachePrompt(false).setSeed(0))));
        }
        for (Future<?> f : fs) f.get();
        return STREAMS * tokens; // ignore_eos: every stream generates exactly n_predict tokens
    }
}
