package io.tune4j.data;

import java.util.Arrays;
import java.util.List;

/**
 * Templates and tokenises a {@link PreferencePair}: only the final response is trained on (earlier assistant
 * turns of a chat are context), and an over-long sequence loses prompt tokens first (keep-response), so
 * what the pair compares survives. A pair that ends up without a response token on either side is left out.
 */
public final class PreferenceTokenizer {
    private final PromptTemplate template;
    private final ExampleTokenizer tokenizer;
    private final int seqLen;

    public PreferenceTokenizer(PromptTemplate template, ExampleTokenizer tokenizer, int seqLen) {
        if (seqLen < 2) throw new IllegalArgumentException("sequence length must be >= 2, got " + seqLen);
        this.template = template;
        this.tokenizer = tokenizer;
        this.seqLen = seqLen;
    }

    /** The tokenised pair, or null when truncation leaves either side without a response token. */
    public TokenizedPair tokenize(PreferencePair p) {
        TokenizedExample c = side(p.chosen()), r = side(p.rejected());
        if (Truncation.targets(c) == 0 || Truncation.targets(r) == 0) return null;
        return new TokenizedPair(c, r);
    }

    private TokenizedExample side(Example e) {
        TokenizedExample t = onlyFinalResponse(tokenizer.tokenize(template.segments(e)));
        List<TokenizedExample> kept = Truncation.KEEP_RESPONSE.apply(t, seqLen, tokenizer.bosId());
        return kept.get(0);
    }

    /** Labels of every trained span but the last become IGNORE: a preference is about the final answer. */
    static TokenizedExample onlyFinalResponse(TokenizedExample t) {
        int[] labels = Arrays.copyOf(t.labels(), t.length());
        int end = labels.length;
        while (end > 0 && labels[end - 1] == TokenizedExample.IGNORE) end--;
        int start = end;
        while (start > 0 && labels[start - 1] != TokenizedExample.IGNORE) start--;
        for (int i = 0; i < start; i++) labels[i] = TokenizedExample.IGNORE;
        return new TokenizedExample(t.ids(), labels);
    }
}
