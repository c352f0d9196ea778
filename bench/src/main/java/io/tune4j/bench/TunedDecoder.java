package io.tune4j.bench;

import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.ops.Ops;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.tensor.Tensor;
import java.util.Map;

/**
 * Greedy single-stream decoding straight on LlamaModel.step (the path Generator drives), without
 * tokenizer or sampler so that both sides do exactly the same work per token.
 */
final class TunedDecoder implements AutoCloseable {
    private static final int[] SLOT = {0};
    private final LlamaModel model;
    private final InferenceContext ctx;
    private final Ops ops = CpuOps.INSTANCE;
    private final int vocab;

    TunedDecoder(LlamaConfig cfg, Map<String, Tensor> weights, int promptTokens) {
        model = LlamaModel.fromWeights(cfg, weights, ops);
        if (Env.bf16Weights() && model.packForDecoding() == 0) {
            throw new IllegalStateException("bench.weights=bf16, but this CPU has no bf16 products");
        }
        ctx = model.newInferenceContext(1, cfg.maxPositions(), promptTokens);
        vocab = cfg.vocabSize();
    }

    /** Prefills the prompt, then returns n greedy tokens (the first comes from the prompt's logits). */
    int[] greedy(int[] prompt, int n) {
        int[] out = new int[n];
        Tensor logits = model.step(ctx, SLOT, new int[][] {prompt}, new int[] {0});
        for (int i = 0; i < n; i++) {
            out[i] = ops.argmax(logits);
            if (i + 1 < n) logits = model.step(ctx, SLOT, new int[][] {{out[i]}}, new int[] {prompt.length + i});
        }
        return out;
    }

    @Override
    public void close() {
        ctx.close();
        model.close();
    }
}
