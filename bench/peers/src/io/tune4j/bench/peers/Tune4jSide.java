package io.tune4j.bench.peers;

import io.tune4j.generate.DecodingWeights;
import io.tune4j.generate.GenerationConfig;
import io.tune4j.generate.GenerationResult;
import io.tune4j.generate.Generator;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.SamplingParams;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.runtime.NativeLib;
import java.nio.file.Path;
import java.util.List;

/** tune4j's generate path: f32 weights, or bf16 decoding weights (its best CPU path). */
final class Tune4jSide implements PeersMain.Side {
    @Override
    public String name() {
        return "tune4j";
    }

    @Override
    public PeersMain.Measurement measure(Models.Shape shape, String precision, Path root, int tokens, int threads) {
        NativeLib.t4j_set_num_threads(threads);
        try (LoadedModel m = LoadedModel.load(Models.hfDir(root, shape, "f32"), null, CpuOps.INSTANCE);
             Generator g = new Generator(m.model(), m.tokenizer(), 1)) {
            DecodingWeights.apply(m.model(), DecodingWeights.parse(precision.equals("f32") ? "fp32" : "bf16"), System.err);
            GenerationConfig cfg = new GenerationConfig(tokens, SamplingParams.GREEDY, 0, List.of(), false);
            g.generate(Models.PROMPT, new GenerationConfig(16, SamplingParams.GREEDY, 0, List.of(), false), null); // warm-up
            long[] first = {0};
            long t0 = System.nanoTime();
            GenerationResult r = g.generate(Models.PROMPT, cfg, (id, text) -> {
                if (first[0] == 0) first[0] = System.nanoTime();
            });
            long t1 = System.nanoTime();
            int n = r.completionTokens();
            return new PeersMain.Measurement((n - 1) / ((t1 - first[0]) / 1e9), n, (first[0] - t0) / 1e6);
        }
    }
}
