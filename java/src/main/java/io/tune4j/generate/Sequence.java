package io.tune4j.generate;

import io.tune4j.ops.Ops;
import io.tune4j.tensor.Tensor;
import io.tune4j.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One sequence being decoded: its KV slot, its tokens, its own RNG (so a seed gives the same text
 * whatever else shares the batch) and its text, streamed as it becomes final. Created and driven by
 * {@link BatchDecoder}; callers read its state.
 */
public final class Sequence {
    /** Tokens of context decoded before the new ones, so that spaces and merges come out right. */
    private static final int DECODE_CONTEXT = 4;

    final int slot;
    final int adapter;    // LoRA bank slot of its rows, -1 for the base model
    final int[] prompt;
    final GenerationConfig config;
    final TokenListener listener;
    final SplittableRandom rng;
    final Tensor history; // [capacity] I32: prompt then generated ids, for the repetition penalty
    private int[] ids;    // prompt + generated
    private int count;
    int length;           // tokens in the KV cache
    int prefilled;        // prompt tokens already in the KV cache
    private int prefixOffset;
    private int readOffset;
    private final Ops ops;
    private final StringBuilder text = new StringBuilder();
    private int emitted;  // chars of text already given to the listener
    FinishReason finish;

    Sequence(Ops ops, int slot, int adapter, int[] prompt, GenerationConfig config, TokenListener listener, Tensor history) {
        this.ops = ops;
        this.slot = slot;
        this.adapter = adapter;
        this.prompt = prompt;
        this.config = config;
        this.listener = listener == null ? TokenListener.NONE : listener;
        this.rng = new SplittableRandom(config.seed());
        this.history = history;
        this.ids = Arrays.copyOf(prompt, prompt.length + Math.max(1, config.maxNewTokens()));
        this.count = prompt.length;
        this.readOffset = prompt.length;
        this.prefixOffset = Math.max(0, prompt.length - DECODE_CONTEXT);
        ops.write(history.slice(0, prompt.length), prompt);
    }

    public int slot() {
        return slot;
    }

    /** The LoRA bank slot this sequence decodes with, -1 for the base model. */
    public int adapterSlot() {
        return adapter;
    }

    public int promptTokens() {
        return prompt.length;
    }

    public boolean finished() {
        return finish != null;
    }

    /** Null while the sequence runs. */
    public FinishReason finishReason() {
        return finish;
    }

    /** True once the whole prompt is in the KV cache. */
    public boolean prefillDone() {
        return prefilled >= prompt.length;
    }

    int historyLength() {
        return count;
    }

    int lastToken() {
        return ids[count - 1];
    }

    public int generatedCount() {
        return count - prompt.length;
    }

    /** Records a chosen token, streams whatever text became final, and decides whether to stop. */
    void accept(int token, Tokenizer tokenizer, int[] eos) {
        if (config.stopAtEos() && contains(eos, token)) {
            finish(FinishReason.STOP, token);
            return;
        }
        ids[count++] = token;
        ops.write(history.slice(count - 1, count), new int[] {token});
        // decode a short window so that each step costs the same however long the text is
        String before = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset));
        String after = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, count));
        // a trailing replacement character is usually half of a multi-byte character: wait for the rest
        if (after.length() > before.length() && !after.endsWith("\uFFFD") && after.startsWith(before)) {
            text.append(after, before.length(), after.length());
            prefixOffset = readOffset;
            readOffset = count;
        }
        if (truncateAtStop()) {
            finish(FinishReason.STOP, token);
            return;
        }
        if (generatedCount() >= config.maxNewTokens()) {
            finish(FinishReason.LENGTH, token);
            return;
        }
        emit(token, safeLength());
    }

    /** Ends the sequence, giving the listener whatever text was held back. */
    void finish(FinishReason reason, int token) {
        finish = reason;
        if (text.length() > emitted || reason != FinishReason.CANCELLED) emit(token, text.length());
    }

    private void emit(int token, int upTo) {
        String delta = upTo > emitted ? text.substring(emitted, upTo) : "";
        emitted = Math.max(emitted, upTo);
        listener.onToken(token, delta);
    }

    /** Cuts the text at the first stop string, if one appeared; true when it did. */
    private boolean truncateAtStop() {
        int cut = -1;
        for (String s : config.stop()) {
            int i = text.indexOf(s, Math.max(0, emitted - s.length() + 1));
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut < 0) return false;
        text.setLength(cut);
        return true;
    }

    /** Text that cannot turn out to be the start of a stop string. */
    private int safeLength() {
        int safe = text.length();
        if (config.stop().isEmpty()) return safe;
        String t = text.toString();
        for (String s : config.stop()) {
            for (int k = Math.min(s.length() - 1, t.length()); k > 0; k--) {
                if (t.regionMatches(t.length() - k, s, 0, k)) {
                    safe = Math.min(safe, t.length() - k);
                    break;
                }
            }
        }
        return safe;
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }

    /** The text and tokens so far; final once {@link #finished()}. */
    public GenerationResult result() {
        return new GenerationResult(text.toString(), Arrays.copyOfRange(ids, prompt.length, count), prompt.length, finish);
    }
}
