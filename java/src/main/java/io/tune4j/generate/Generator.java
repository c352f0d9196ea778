package io.tune4j.generate;

import io.tune4j.model.LlamaModel;
import io.tune4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Autoregressive generation with a KV cache. Several prompts decode together through a
 * {@link BatchDecoder}: each step runs one batched forward over one new token per live sequence;
 * finished sequences leave the batch and the next prompt takes their slot.
 */
public final class Generator implements AutoCloseable {
    private final BatchDecoder decoder;

    /** A generator that decodes up to {@code slots} sequences at once. */
    public Generator(LlamaModel model, Tokenizer tokenizer, int slots) {
        this(model, tokenizer, slots, model.config().maxPositions());
    }

    public Generator(LlamaModel model, Tokenizer tokenizer, int slots, int maxSeq) {
        this.decoder = new BatchDecoder(model, tokenizer, slots, maxSeq);
    }

    public Tokenizer tokenizer() {
        return decoder.tokenizer();
    }

    public int contextLength() {
        return decoder.contextLength();
    }

    /** Encodes the prompt (with BOS) and continues it. */
    public GenerationResult generate(String prompt, GenerationConfig config, TokenListener listener) {
        return generate(decoder.tokenizer().encode(prompt, true), config, listener);
    }

    public GenerationResult generate(int[] promptIds, GenerationConfig config, TokenListener listener) {
        return generateBatch(List.of(promptIds), List.of(config), List.of(listener == null ? TokenListener.NONE : listener)).get(0);
    }

    /**
     * Decodes several prompts together (up to the generator's slot count at once; the rest join as
     * slots free up). Results come back in the order of the prompts.
     */
    public List<GenerationResult> generateBatch(List<int[]> prompts, List<GenerationConfig> configs,
                                                List<TokenListener> listeners) {
        for (int i = 0; i < prompts.size(); i++) {
            try {
                decoder.validate(prompts.get(i));
            } catch (PromptTooLongException e) {
                throw e;
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("prompt " + i + ": " + e.getMessage());
            }
        }
        List<Sequence> seqs = new ArrayList<>();
        int next = 0;
        while (next < prompts.size() || decoder.activeCount() > 0) {
            while (next < prompts.size() && decoder.freeSlots() > 0) {
                TokenListener l = listeners == null || listeners.get(next) == null ? TokenListener.NONE : listeners.get(next);
                seqs.add(decoder.admit(prompts.get(next), configs.get(next), l));
                next++;
            }
            decoder.step();
        }
        List<GenerationResult> out = new ArrayList<>(seqs.size());
        for (Sequence s : seqs) out.add(s.result());
        return out;
    }

    @Override
    public void close() {
        decoder.close();
    }
}
