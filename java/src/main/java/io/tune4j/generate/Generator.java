package io.tune4j.generate;

import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaModel;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Autoregressive generation with a KV cache. Several prompts decode together: each step runs one
 * batched forward over one new token per live sequence; finished sequences leave the batch.
 */
public final class Generator implements AutoCloseable {
    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final int[] eos;
    private final int slots;
    private final int maxSeq;
    private final int prefillChunk;
    private final InferenceContext ctx;
    private final Arena arena = new Arena();
    private final Tensor sampleWs;
    private final Tensor[] histories;

    /** A generator that decodes up to {@code slots} sequences at once. */
    public Generator(LlamaModel model, Tokenizer tokenizer, int slots) {
        this(model, tokenizer, slots, model.config().maxPositions());
    }

    public Generator(LlamaModel model, Tokenizer tokenizer, int slots, int maxSeq) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.slots = slots;
        this.maxSeq = Math.min(maxSeq, model.config().maxPositions());
        this.prefillChunk = Math.max(slots, Math.min(this.maxSeq, 256));
        this.ctx = model.newInferenceContext(slots, this.maxSeq, prefillChunk);
        java.util.Set<Integer> e = new java.util.LinkedHashSet<>();
        for (int id : model.config().eosTokenIds()) e.add(id);
        for (int id : tokenizer.eosIds()) e.add(id);
        this.eos = e.stream().mapToInt(Integer::intValue).toArray();
        this.sampleWs = arena.f32(2L * model.config().vocabSize());
        this.histories = new Tensor[slots];
        for (int i = 0; i < slots; i++) histories[i] = arena.i32(this.maxSeq);
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public int contextLength() {
        return maxSeq;
    }

    /** Encodes the prompt (with BOS) and continues it. */
    public GenerationResult generate(String prompt, GenerationConfig config, TokenListener listener) {
        return generate(tokenizer.encode(prompt, true), config, listener);
    }

    public GenerationResult generate(int[] promptIds, GenerationConfig config, TokenListener listener) {
        return generateBatch(List.of(promptIds), List.of(config), List.of(listener == null ? TokenListener.NONE : listener)).get(0);
    }

    /**
     * Decodes several prompts together (up to the generator's slot count at once; more are run in
     * waves). Results come back in the order of the prompts.
     */
    public List<GenerationResult> generateBatch(List<int[]> prompts, List<GenerationConfig> configs,
                                                List<TokenListener> listeners) {
        List<GenerationResult> out = new ArrayList<>();
        for (int from = 0; from < prompts.size(); from += slots) {
            int to = Math.min(prompts.size(), from + slots);
            List<Sequence> wave = new ArrayList<>();
            for (int i = from; i < to; i++) {
                int[] p = prompts.get(i);
                if (p.length == 0) throw new IllegalArgumentException("prompt " + i + " is empty");
                if (p.length >= maxSeq) throw new PromptTooLongException(p.length, maxSeq);
                TokenListener l = listeners == null || listeners.get(i) == null ? TokenListener.NONE : listeners.get(i);
                wave.add(new Sequence(i - from, p, configs.get(i), l, histories[i - from]));
            }
            run(wave);
            for (Sequence s : wave) out.add(s.result());
        }
        return out;
    }

    private void run(List<Sequence> wave) {
        Ops ops = model.ops();
        int V = model.config().vocabSize();
        // prefill each prompt (in chunks that fit the step buffers); its last logits pick token 1
        for (Sequence s : wave) {
            if (s.config.maxNewTokens() == 0) {
                s.finish(FinishReason.LENGTH, -1);
                continue;
            }
            Tensor logits = null;
            for (int off = 0; off < s.prompt.length; off += prefillChunk) {
                int len = Math.min(prefillChunk, s.prompt.length - off);
                int[] chunk = java.util.Arrays.copyOfRange(s.prompt, off, off + len);
                logits = model.step(ctx, new int[] {s.slot}, new int[][] {chunk}, new int[] {off});
            }
            s.length = s.prompt.length;
            s.accept(pick(ops, logits.slice(0, 1), V, s), tokenizer, eos);
        }
        List<Sequence> live = new ArrayList<>();
        for (Sequence s : wave) if (s.finish == null) live.add(s);
        while (!live.isEmpty()) {
            // a sequence whose next token would not fit in the cache ends here
            live.removeIf(s -> {
                if (s.length + 1 >= maxSeq) {
                    s.finish(FinishReason.LENGTH, s.lastToken());
                    return true;
                }
                return false;
            });
            if (live.isEmpty()) break;
            int n = live.size();
            int[] slotIds = new int[n], start = new int[n];
            int[][] tokens = new int[n][];
            for (int i = 0; i < n; i++) {
                Sequence s = live.get(i);
                slotIds[i] = s.slot;
                start[i] = s.length;
                tokens[i] = new int[] {s.lastToken()};
            }
            Tensor logits = model.step(ctx, slotIds, tokens, start);
            for (int i = 0; i < n; i++) {
                Sequence s = live.get(i);
                s.length++;
                s.accept(pick(ops, logits.slice(i, i + 1), V, s), tokenizer, eos);
            }
            live.removeIf(s -> s.finish != null);
        }
    }

    private int pick(Ops ops, Tensor logits, int V, Sequence s) {
        float coin = (float) s.rng.nextDouble();
        return ops.sample(logits, V, s.config.sampling(), s.history, s.historyLength(), coin, sampleWs);
    }

    @Override
    public void close() {
        ctx.close();
        arena.close();
    }
}
