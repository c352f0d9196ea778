package io.tune4j.generate;

import io.tune4j.tokenizer.Tokenizer;
import io.tune4j.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * One sequence being decoded: its KV slot, its tokens, its own RNG (so a seed gives the same text
 * whatever else shares the batch) and the text streamed so far.
 */
final class Sequence {
    final int slot;
    final int[] prompt;
    final GenerationConfig config;
    final TokenListener listener;
    final SplittableRandom rng;
    final Tensor history; // [capacity] I32: prompt then generated ids, for the repetition penalty
    int[] generated;
    int generatedCount;
    int length; // tokens in the KV cache
    String text = "";
    int emittedChars;
    FinishReason finish;

    Sequence(int slot, int[] prompt, GenerationConfig config, TokenListener listener, Tensor history) {
        this.slot = slot;
        this.prompt = prompt;
        this.config = config;
        this.listener = listener == null ? TokenListener.NONE : listener;
        this.rng = new SplittableRandom(config.seed());
        this.history = history;
        this.generated = new int[Math.max(1, config.maxNewTokens())];
        history.ints().put(0, prompt);
    }

    int historyLength() {
        return prompt.length + generatedCount;
    }

    int[] generatedIds() {
        return java.util.Arrays.copyOf(generated, generatedCount);
    }

    /** Records a token; decodes the text so far and streams the new part. */
    void accept(int token, Tokenizer tokenizer, int[] eos) {
        boolean isEos = false;
        for (int e : eos) isEos |= e == token;
        if (isEos && config.stopAtEos()) {
            finish = FinishReason.STOP;
            return;
        }
        generated[generatedCount++] = token;
        history.ints().put(prompt.length + generatedCount - 1, token);
        String full = tokenizer.decode(generatedIds());
        // a trailing replacement character is usually half of a multi-byte character: wait for the rest
        int stable = full.endsWith("\uFFFD") ? full.length() - 1 : full.length();
        int stopAt = -1;
        for (String s : config.stop()) {
            int i = full.indexOf(s, Math.max(0, emittedChars - s.length() + 1));
            if (i >= 0 && (stopAt < 0 || i < stopAt)) stopAt = i;
        }
        if (stopAt >= 0) {
            stable = stopAt;
            finish = FinishReason.STOP;
        }
        String delta = stable > emittedChars ? full.substring(emittedChars, stable) : "";
        text = full.substring(0, Math.max(stable, Math.min(emittedChars, full.length())));
        if (finish == FinishReason.STOP) text = full.substring(0, stopAt);
        emittedChars = Math.max(emittedChars, stable);
        listener.onToken(token, delta);
        if (finish == null && generatedCount >= config.maxNewTokens()) finish = FinishReason.LENGTH;
    }

    GenerationResult result() {
        return new GenerationResult(text, generatedIds(), prompt.length, finish);
    }
}
