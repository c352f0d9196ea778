package io.tune4j.data;

import static io.tune4j.data.TokenizedExample.IGNORE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Each policy on one over-long example: BOS 1, prompt 10..15, response 20..23 and EOS 2. */
class TruncationTest {
    static final int BOS = 1;
    // ids:    BOS  p   p   p   p   p   p   r   r   r   r  EOS
    static final int[] IDS = {1, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 2};
    static final int[] LABELS = {IGNORE, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE, 20, 21, 22, 23, 2};
    static final TokenizedExample EX = new TokenizedExample(IDS, LABELS);

    private static TokenizedExample one(Truncation t, int seqLen) {
        List<TokenizedExample> out = t.apply(EX, seqLen, BOS);
        assertEquals(1, out.size(), out.toString());
        assertTrue(out.get(0).length() <= seqLen);
        return out.get(0);
    }

    @Test
    void keepResponseCutsThePromptStartAfterBos() {
        TokenizedExample k = one(Truncation.KEEP_RESPONSE, 8);
        assertArrayEquals(new int[] {1, 14, 15, 20, 21, 22, 23, 2}, k.ids());
        assertArrayEquals(new int[] {IGNORE, IGNORE, IGNORE, 20, 21, 22, 23, 2}, k.labels());
        assertEquals(Truncation.targets(EX), Truncation.targets(k), "every response token is still trained on");
    }

    @Test
    void keepResponseCutsTheEndOnlyWhenTheResponseAloneIsTooLong() {
        // 5 response tokens + BOS + the one prompt token the first answer token is predicted from = 7 > 4
        TokenizedExample k = one(Truncation.KEEP_RESPONSE, 4);
        assertArrayEquals(new int[] {1, 20, 21, 22}, k.ids());
        assertArrayEquals(new int[] {IGNORE, 20, 21, 22}, k.labels());
        assertEquals(3, Truncation.targets(k));
    }

    @Test
    void keepResponseWithoutBosKeepsOnePromptToken() {
        TokenizedExample noBos = new TokenizedExample(java.util.Arrays.copyOfRange(IDS, 1, IDS.length),
                java.util.Arrays.copyOfRange(LABELS, 1, LABELS.length));
        TokenizedExample k = Truncation.KEEP_RESPONSE.apply(noBos, 6, -1).get(0);
        assertArrayEquals(new int[] {15, 20, 21, 22, 23, 2}, k.ids());
        assertEquals(5, Truncation.targets(k));
    }

    @Test
    void rightKeepsTheStartAndLosesTheAnswer() {
        TokenizedExample r = one(Truncation.RIGHT, 8);
        assertArrayEquals(new int[] {1, 10, 11, 12, 13, 14, 15, 20}, r.ids());
        assertEquals(1, Truncation.targets(r), "four of the five response targets are gone");
    }

    @Test
    void leftKeepsBosAndTheLastTokens() {
        TokenizedExample l = one(Truncation.LEFT, 8);
        assertArrayEquals(new int[] {1, 14, 15, 20, 21, 22, 23, 2}, l.ids());
        // unlike keep-response, a response longer than the sequence loses its start, not its end
        TokenizedExample shortSeq = one(Truncation.LEFT, 4);
        assertArrayEquals(new int[] {1, 22, 23, 2}, shortSeq.ids());
        assertArrayEquals(new int[] {IGNORE, 22, 23, 2}, shortSeq.labels());
    }

    @Test
    void dropLeavesItOutAndSplitCoversEveryToken() {
        assertEquals(List.of(), Truncation.DROP.apply(EX, 8, BOS));
        List<TokenizedExample> pieces = Truncation.SPLIT.apply(EX, 5, BOS);
        assertEquals(List.of(5, 5, 2), pieces.stream().map(TokenizedExample::length).toList());
        assertArrayEquals(new int[] {14, 15, 20, 21, 22}, pieces.get(1).ids());
    }

    @Test
    void shortExamplesAreUntouchedAndNamesParse() {
        for (Truncation t : Truncation.values()) assertEquals(List.of(EX), t.apply(EX, 12, BOS));
        assertEquals(Truncation.KEEP_RESPONSE, Truncation.parse("keep_response"));
        assertEquals(Truncation.RIGHT, Truncation.parse("truncate"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Truncation.parse("middle"));
        assertEquals("unknown truncation 'middle'; expected keep-response, left, right, drop or split", e.getMessage());
    }
}
