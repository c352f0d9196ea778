package io.tune4j.generate;

import io.tune4j.model.DecoderLayer;
import io.tune4j.model.InferenceContext;
import io.tune4j.model.LlamaModel;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Continuous batching over one KV cache: a sequence can be admitted into a free slot between any
 * two steps, and each {@link #step()} is one batched forward in which every decoding sequence adds
 * one token and admitted prompts are prefilled in chunks with the rows left over. Finished and
 * cancelled sequences free their slot at once. Not thread-safe: one thread drives it.
 */
public final class BatchDecoder implements AutoCloseable {
    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final int[] eos;
    private final int slots;
    private final int maxSeq;
    private final int maxRows;
    private final Arena arena;  // the model's backend
    private final Tensor sampleWs;
    private final Tensor[] histories;
    private final Sequence[] bySlot;
    private final List<Sequence> active = new ArrayList<>(); // admission order, so prefill is first come first served
    private InferenceContext ctx;
    private int ctxPrefix;

    public BatchDecoder(LlamaModel model, Tokenizer tokenizer, int slots, int maxSeq) {
        if (slots < 1) throw new IllegalArgumentException("slots must be >= 1, got " + slots);
        this.model = model;
        this.arena = new Arena(model.ops());
        this.tokenizer = tokenizer;
        this.slots = slots;
        this.maxSeq = Math.min(maxSeq, model.config().maxPositions());
        this.maxRows = Math.max(slots, Math.min(this.maxSeq, 256));
        Set<Integer> e = new LinkedHashSet<>();
        for (int id : model.config().eosTokenIds()) e.add(id);
        for (int id : tokenizer.eosIds()) e.add(id);
        this.eos = e.stream().mapToInt(Integer::intValue).toArray();
        this.sampleWs = arena.f32(2L * model.config().vocabSize());
        this.histories = new Tensor[slots];
        for (int i = 0; i < slots; i++) histories[i] = arena.i32(this.maxSeq);
        this.bySlot = new Sequence[slots];
        this.ctxPrefix = maxPrefix();
        this.ctx = model.newInferenceContext(slots, this.maxSeq, maxRows);
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public int contextLength() {
        return maxSeq;
    }

    public int slots() {
        return slots;
    }

    /** Sequences holding a slot (prefilling or decoding). */
    public int activeCount() {
        return active.size();
    }

    public int freeSlots() {
        return slots - active.size();
    }

    /** Throws when the prompt cannot be admitted whatever the load. */
    public void validate(int[] prompt) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty");
        if (prompt.length >= maxSeq) throw new PromptTooLongException(prompt.length, maxSeq);
    }

    /**
     * Takes a free slot for the prompt; its prefill starts at the next step. A sequence allowed no
     * new tokens finishes here without taking a slot.
     */
    public Sequence admit(int[] prompt, GenerationConfig config, TokenListener listener) {
        return admit(prompt, config, listener, -1);
    }

    /**
     * As {@link #admit(int[], GenerationConfig, TokenListener)}, decoding with the adapter in slot
     * adapterSlot of the model's {@code peft.LoraBank} (-1: the base model). Sequences with
     * different slots share the batch; each step hands the model every row's slot.
     */
    public Sequence admit(int[] prompt, GenerationConfig config, TokenListener listener, int adapterSlot) {
        if (adapterSlot < -1) throw new IllegalArgumentException("adapter slot must be >= -1, got " + adapterSlot);
        validate(prompt);
        int slot = -1;
        for (int i = 0; i < slots && slot < 0; i++) if (bySlot[i] == null) slot = i;
        if (slot < 0) throw new IllegalStateException("no free slot; check freeSlots() before admitting");
        Sequence s = new Sequence(model.ops(), slot, adapterSlot, prompt, config, listener, histories[slot]);
        if (config.maxNewTokens() == 0) {
            s.finish(FinishReason.LENGTH, -1);
            return s;
        }
        bySlot[slot] = s;
        active.add(s);
        return s;
    }

    /** Ends a sequence before its time and frees its slot; no-op when it already finished. */
    public void cancel(Sequence s) {
        if (s.finish == null) s.finish(FinishReason.CANCELLED, s.generatedCount() > 0 ? s.lastToken() : -1);
        release(s);
    }

    /**
     * Rebuilds the step buffers when the model's attention prefix changed (a prefix-tuning adapter was
     * attached or detached), since their size depends on it. Only between batches.
     */
    public void refreshForModelChange() {
        if (!active.isEmpty()) throw new IllegalStateException("the model can change only while no sequence is active");
        int p = maxPrefix();
        if (p == ctxPrefix) return;
        ctx.close();
        ctxPrefix = p;
        ctx = model.newInferenceContext(slots, maxSeq, maxRows);
    }

    private int maxPrefix() {
        int p = 0;
        for (DecoderLayer layer : model.layers()) p = Math.max(p, layer.prefixLength());
        return p;
    }

    /**
     * One batched forward over all active sequences. Returns false when there was nothing to do.
     */
    public boolean step() {
        // a sequence whose next token would not fit in the cache ends here
        for (Sequence s : List.copyOf(active)) {
            if (s.prefilled == s.prompt.length && s.length + 1 >= maxSeq) {
                s.finish(FinishReason.LENGTH, s.lastToken());
                release(s);
            }
        }
        if (active.isEmpty()) return false;
        List<Sequence> batch = new ArrayList<>();
        List<int[]> tokens = new ArrayList<>();
        List<Integer> starts = new ArrayList<>();
        int rows = 0;
        for (Sequence s : active) {
            if (s.prefilled < s.prompt.length) continue;
            batch.add(s);
            tokens.add(new int[] {s.lastToken()});
            starts.add(s.length);
            rows++;
        }
        // prompts take the rows decoding leaves; each prefilling sequence holds a slot, so at least one row is left
        for (Sequence s : active) {
            if (s.prefilled >= s.prompt.length || rows >= maxRows) continue;
            int len = Math.min(maxRows - rows, s.prompt.length - s.prefilled);
            batch.add(s);
            tokens.add(Arrays.copyOfRange(s.prompt, s.prefilled, s.prefilled + len));
            starts.add(s.prefilled);
            rows += len;
        }
        int n = batch.size();
        int[] slotIds = new int[n], start = new int[n], adapters = new int[n];
        boolean anyAdapter = false;
        for (int i = 0; i < n; i++) {
            slotIds[i] = batch.get(i).slot;
            start[i] = starts.get(i);
            adapters[i] = batch.get(i).adapter;
            anyAdapter |= adapters[i] >= 0;
        }
        Tensor logits = model.step(ctx, slotIds, tokens.toArray(new int[0][]), start, anyAdapter ? adapters : null);
        Ops ops = model.ops();
        int V = model.config().vocabSize();
        for (int i = 0; i < n; i++) {
            Sequence s = batch.get(i);
            if (s.prefilled < s.prompt.length) {
                s.prefilled += tokens.get(i).length;
                if (s.prefilled < s.prompt.length) continue; // its last logits are not the prompt's end yet
                s.length = s.prompt.length;
            } else {
                s.length++;
            }
            s.accept(pick(ops, logits.slice(i, i + 1), s), tokenizer, eos);
            if (s.finish != null) release(s);
        }
        return true;
    }

    private void release(Sequence s) {
        if (bySlot[s.slot] == s) bySlot[s.slot] = null;
        active.remove(s);
    }

    private int pick(Ops ops, Tensor logits, Sequence s) {
        float coin = (float) s.rng.nextDouble();
        return ops.sample(logits, s.config.sampling(), s.history, s.historyLength(), coin, sampleWs);
    }

    @Override
    public void close() {
        ctx.close();
        arena.close();
    }
}
