package io.tune4j.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What happens to an example longer than the sequence length.
 *
 * <p>KEEP_RESPONSE is the default for records because cutting from the end removes exactly the
 * part a fine-tune learns from: the answer. The prompt part is everything before the final
 * response (earlier chat turns included); BOS always stays, so the first answer token is still
 * predicted from something.
 */
public enum Truncation {
    /** Drop tokens from the start of the prompt part; cut the end only when the response alone is too long. */
    KEEP_RESPONSE("keep-response"),
    /** Keep the last tokens (and BOS). */
    LEFT("left"),
    /** Keep the first tokens. */
    RIGHT("right"),
    /** Leave the example out. */
    DROP("drop"),
    /** Cut into consecutive pieces of at most the sequence length (the default for whole-file text). */
    SPLIT("split");

    private final String id;

    Truncation(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Truncation parse(String s) {
        String n = s.strip().toLowerCase(Locale.ROOT).replace('_', '-');
        for (Truncation t : values()) if (t.id.equals(n)) return t;
        if (n.equals("truncate")) return RIGHT; // the name older run files used for keeping the first tokens
        throw new IllegalArgumentException("unknown truncation '" + s + "'; expected keep-response, left, right, drop or split");
    }

    /**
     * The pieces an example of more than seqLen tokens becomes (none for DROP). bos is the id
     * that starts the example when it carries one, else -1.
     */
    public List<TokenizedExample> apply(TokenizedExample t, int seqLen, int bos) {
        int n = t.length();
        if (n <= seqLen) return List.of(t);
        int lead = bos >= 0 && t.ids()[0] == bos && t.labels()[0] == TokenizedExample.IGNORE && seqLen > 1 ? 1 : 0;
        return switch (this) {
            case DROP -> List.of();
            case RIGHT -> List.of(range(t, 0, seqLen));
            case LEFT -> List.of(join(t, lead, n - (seqLen - lead)));
            case SPLIT -> split(t, seqLen);
            case KEEP_RESPONSE -> List.of(keepResponse(t, seqLen, lead));
        };
    }

    private static TokenizedExample keepResponse(TokenizedExample t, int seqLen, int lead) {
        int[] labels = t.labels();
        int n = labels.length;
        int end = n;
        while (end > 0 && labels[end - 1] == TokenizedExample.IGNORE) end--;
        if (end == 0) return range(t, 0, seqLen); // nothing is trained on: no response to keep
        int start = end;
        while (start > 0 && labels[start - 1] != TokenizedExample.IGNORE) start--;
        // without BOS one prompt token must stay: the first response token is predicted from it
        int removable = Math.max(0, start - lead - (lead == 0 ? 1 : 0));
        int cut = Math.min(n - seqLen, removable);
        TokenizedExample kept = join(t, lead, lead + cut);
        return kept.length() <= seqLen ? kept : range(kept, 0, seqLen);
    }

    /** t without the tokens [from, to), keeping the first {@code from} tokens (BOS) in front. */
    private static TokenizedExample join(TokenizedExample t, int from, int to) {
        int n = t.length(), len = n - (to - from);
        int[] ids = new int[len], labels = new int[len];
        System.arraycopy(t.ids(), 0, ids, 0, from);
        System.arraycopy(t.labels(), 0, labels, 0, from);
        System.arraycopy(t.ids(), to, ids, from, n - to);
        System.arraycopy(t.labels(), to, labels, from, n - to);
        return new TokenizedExample(ids, labels);
    }

    private static TokenizedExample range(TokenizedExample t, int from, int to) {
        return new TokenizedExample(Arrays.copyOfRange(t.ids(), from, to), Arrays.copyOfRange(t.labels(), from, to));
    }

    private static List<TokenizedExample> split(TokenizedExample t, int seqLen) {
        List<TokenizedExample> out = new ArrayList<>();
        for (int from = 0; from < t.length(); from += seqLen) out.add(range(t, from, Math.min(t.length(), from + seqLen)));
        return out;
    }

    /** Tokens the loss trains on: labels after the first position (targets are shifted by one). */
    public static long targets(TokenizedExample t) {
        int[] l = t.labels();
        long c = 0;
        for (int i = 1; i < l.length; i++) if (l[i] != TokenizedExample.IGNORE) c++;
        return c;
    }
}
