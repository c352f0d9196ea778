package io.tune4j.data;

import io.tune4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns templated segments into ids and labels: prompt tokens get {@link TokenizedExample#IGNORE}
 * unless trainOnPrompt, response tokens and the EOS after each response are trained on.
 *
 * <p>Consecutive text segments are tokenised together, as inference will see them, and the
 * boundary between prompt and response is where the prompt's own tokenisation stops agreeing with
 * the whole (a token merged across the boundary counts as response). BOS and EOS are inserted as
 * ids, never tokenised from text; an EOS directly after a token that already is EOS (a template
 * that spells eos_token itself) is not doubled.
 */
public final class ExampleTokenizer {
    private final Tokenizer tokenizer;
    private final boolean trainOnPrompt;
    private final boolean trainOnEos;
    private final int bosId; // -1: the tokenizer adds no BOS
    private final int eosId;

    public ExampleTokenizer(Tokenizer tokenizer, boolean trainOnPrompt) {
        this(tokenizer, trainOnPrompt, true);
    }

    public ExampleTokenizer(Tokenizer tokenizer, boolean trainOnPrompt, boolean trainOnEos) {
        this.tokenizer = tokenizer;
        this.trainOnPrompt = trainOnPrompt;
        this.trainOnEos = trainOnEos;
        int[] withBos = tokenizer.encode("", true), without = tokenizer.encode("", false);
        this.bosId = withBos.length > without.length ? withBos[0] : -1;
        int[] eos = tokenizer.eosIds();
        if (eos.length == 0) throw new IllegalArgumentException("the tokenizer has no EOS token; responses cannot be terminated");
        this.eosId = eos[0];
    }

    public int eosId() {
        return eosId;
    }

    /** The id put in front of each example, or -1 when the tokenizer adds no BOS. */
    public int bosId() {
        return bosId;
    }

    public TokenizedExample tokenize(List<Segment> segments) {
        return withPromptLabels(tokenizeResponseLabels(segments));
    }

    /** As {@link #tokenize}, but only response tokens (and their EOS) carry labels, whatever trainOnPrompt says. */
    public TokenizedExample tokenizeResponseLabels(List<Segment> segments) {
        return tokenize(segments, false);
    }

    /**
     * With trainOnPrompt, t with every token but BOS labelled (EOS only when EOS is trained);
     * otherwise t itself. Applied after truncation, which needs the response-only labels.
     */
    public TokenizedExample withPromptLabels(TokenizedExample t) {
        if (!trainOnPrompt) return t;
        int[] ids = t.ids(), labels = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            boolean skip = ids[i] == bosId && t.labels()[i] == TokenizedExample.IGNORE
                    || ids[i] == eosId && !trainOnEos;
            labels[i] = skip ? TokenizedExample.IGNORE : ids[i];
        }
        return new TokenizedExample(ids, labels);
    }

    private TokenizedExample tokenize(List<Segment> segments, boolean promptLabels) {
        IntList ids = new IntList(), labels = new IntList();
        List<Segment> run = new ArrayList<>();
        for (Segment s : segments) {
            if (s.type() == Segment.Type.TEXT) {
                if (!s.text().isEmpty()) run.add(s);
                continue;
            }
            flush(run, ids, labels, promptLabels);
            if (s.type() == Segment.Type.BOS) {
                if (bosId >= 0) {
                    ids.add(bosId);
                    labels.add(TokenizedExample.IGNORE);
                }
            } else if (ids.size() == 0 || ids.last() != eosId) {
                ids.add(eosId);
                labels.add(trainOnEos && (s.trainable() || promptLabels) ? eosId : TokenizedExample.IGNORE);
            }
        }
        flush(run, ids, labels, promptLabels);
        return new TokenizedExample(ids.toArray(), labels.toArray());
    }

    private void flush(List<Segment> run, IntList ids, IntList labels, boolean promptLabels) {
        if (run.isEmpty()) return;
        StringBuilder text = new StringBuilder();
        for (Segment s : run) text.append(s.text());
        int[] all = tokenizer.encode(text.toString(), false);
        int from = 0;
        int prefixChars = 0;
        for (int k = 0; k < run.size(); k++) {
            Segment s = run.get(k);
            int to;
            if (k == run.size() - 1) {
                to = all.length;
            } else {
                prefixChars += s.text().length();
                int[] prefix = tokenizer.encode(text.substring(0, prefixChars), false);
                to = Math.max(from, commonPrefix(prefix, all));
            }
            boolean train = s.trainable() || promptLabels;
            for (int i = from; i < to; i++) {
                ids.add(all[i]);
                labels.add(train ? all[i] : TokenizedExample.IGNORE);
            }
            from = to;
        }
        run.clear();
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    /** A growable int array, to keep boxing out of the per-token loop. */
    static final class IntList {
        private int[] a = new int[64];
        private int n;

        void add(int v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int size() {
            return n;
        }

        int last() {
            return a[n - 1];
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
