package io.tune4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Text metrics against values worked out by hand. */
class MetricsTest {
    @Test
    void normalisationTrimsLowercasesAndCollapsesWhitespace() {
        assertEquals("hello big world", TextNormalizer.normalize("  Hello \t BIG\n\nworld  "));
        assertEquals(List.of("a", "b"), TextNormalizer.tokens(" A  b "));
        assertEquals(List.of(), TextNormalizer.tokens("  \n "));
    }

    @Test
    void exactMatchOfText() {
        assertTrue(ExactMatch.matches(" Positive\n", "positive", AnswerFormat.TEXT));
        assertFalse(ExactMatch.matches("positive.", "positive", AnswerFormat.TEXT));
    }

    @Test
    void numericAnswerTakesTheGsm8kMarkerElseTheLastNumber() {
        assertEquals("18", NumericAnswer.extract("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18"));
        assertEquals("7", NumericAnswer.extract("5 apples #### 7 apples, not 9"));
        assertEquals("1000.5", NumericAnswer.extract("first 3, then 1,000.50 dollars"));
        assertEquals("-3", NumericAnswer.extract("#### -3"));
        assertEquals("0", NumericAnswer.extract("it is -0.0"));
        assertEquals("120", NumericAnswer.extract("1.2e2 is not read as one number but 120 is"));
        assertNull(NumericAnswer.extract("no digits here"));
        assertTrue(ExactMatch.matches("So the answer is 72.", "... so 48 + 24 = 72\n#### 72", AnswerFormat.NUMBER));
        assertTrue(ExactMatch.matches("The total is 1,200", "#### 1200", AnswerFormat.NUMBER));
        assertFalse(ExactMatch.matches("I don't know", "#### 5", AnswerFormat.NUMBER));
    }

    @Test
    void rougeLIsTheF1OfTheLongestCommonSubsequence() {
        // LCS "the cat on the mat" = 5 of 6 tokens either way
        assertEquals(5.0 / 6, RougeL.f1("the cat sat on the mat", "The cat is on the mat"), 1e-12);
        // LCS "a c" = 2: P = 2/4, R = 2/3, F = 2PR/(P+R) = 4/7
        assertEquals(4.0 / 7, RougeL.f1("a b c d", "a c e"), 1e-12);
        assertEquals(1.0, RougeL.f1("same words", " SAME   words"), 1e-12);
        assertEquals(0.0, RougeL.f1("x y", "a b"));
        assertEquals(0.0, RougeL.f1("", "a b"));
    }

    @Test
    void bleuOfOnePairByHand() {
        // hypothesis a b c d e f, reference a b c d x f g:
        // p1 = 5/6, p2 = 3/5 (ab bc cd), p3 = 2/4 (abc bcd), p4 = 1/3 (abcd); product 1/12
        // c = 6 < r = 7: BP = exp(1 - 7/6)
        Bleu.Score s = Bleu.corpus(List.of("a b c d e f"), List.of("a b c d x f g"), Bleu.Smoothing.NONE);
        assertArrayEquals(new long[] {5, 3, 2, 1}, s.matches());
        assertArrayEquals(new long[] {6, 5, 4, 3}, s.totals());
        assertEquals(Math.exp(-1.0 / 6), s.brevityPenalty(), 1e-12);
        assertEquals(Math.exp(-1.0 / 6) * Math.pow(1.0 / 12, 0.25), s.bleu(), 1e-12);
        assertEquals(0.454802, s.bleu(), 1e-6);
        // every n-gram matches: smoothing changes nothing
        assertEquals(s.bleu(), Bleu.corpus(List.of("a b c d e f"), List.of("a b c d x f g"), Bleu.Smoothing.EXP).bleu(), 1e-12);
    }

    @Test
    void bleuIsCorpusLevelNotAnAverageOfSentences() {
        // sums: matches 4+5, 3+3, 2+2, 1+1; totals 4+6, 3+5, 2+4, 1+3; c = 10, r = 4 + 7 = 11
        Bleu.Score s = Bleu.corpus(List.of("a b c d", "a b c d e f"), List.of("a b c d", "a b c d x f g"), Bleu.Smoothing.NONE);
        double expected = Math.exp(1 - 11.0 / 10) * Math.pow(9.0 / 10 * 6.0 / 8 * 4.0 / 6 * 2.0 / 4, 0.25);
        assertEquals(expected, s.bleu(), 1e-12);
        assertEquals(1.0, Bleu.corpus(List.of("The cat sat down"), List.of("the  cat sat\tdown"), Bleu.Smoothing.NONE).bleu(), 1e-12);
    }

    @Test
    void bleuClipsRepeatsAndSmoothsMissingOrders() {
        // "the" x4 against "the cat": p1 = 1/4 (clipped), no 2-, 3-, 4-gram matches (totals 3, 2, 1); c >= r: BP = 1
        List<String> hyp = List.of("the the the the"), ref = List.of("the cat");
        assertEquals(0.0, Bleu.corpus(hyp, ref, Bleu.Smoothing.NONE).bleu());
        // exp: the k-th order without a match gets 1/(2^k total): 1/(2*3), 1/(4*2), 1/(8*1)
        Bleu.Score exp = Bleu.corpus(hyp, ref, Bleu.Smoothing.EXP);
        assertEquals(Math.pow(1.0 / 4 * 1.0 / 6 * 1.0 / 8 * 1.0 / 8, 0.25), exp.bleu(), 1e-12);
        // add-one for n >= 2: 1/4, 1/4, 1/3, 1/2
        Bleu.Score add = Bleu.corpus(hyp, ref, Bleu.Smoothing.ADD_ONE);
        assertEquals(Math.pow(1.0 / 4 * 1.0 / 4 * 1.0 / 3 * 1.0 / 2, 0.25), add.bleu(), 1e-12);
    }

    @Test
    void bleuOfNothingIsZero() {
        assertEquals(0.0, Bleu.corpus(List.of(""), List.of("a b"), Bleu.Smoothing.EXP).bleu());
        assertEquals(0.0, Bleu.corpus(List.of("a b"), List.of("a b"), Bleu.Smoothing.NONE).bleu(), "no 3-grams at all");
        assertThrows(IllegalArgumentException.class, () -> Bleu.corpus(List.of("a"), List.of(), Bleu.Smoothing.EXP));
    }

    private static final List<String> SENTIMENT = List.of(" negative", " positive");

    @Test
    void labelExamplesKnowTheirGold() {
        EvalExample e = EvalExample.labelled("Review: fine\nSentiment:", SENTIMENT, 1);
        assertEquals(" positive", e.reference());
        assertEquals(1, e.goldIndex());
        assertThrows(IllegalArgumentException.class, () -> new EvalExample("p", "maybe", List.of("yes", "no")));
        assertEquals(2.0 / 3, Evaluator.majorityBaseline(List.of(e, e,
                EvalExample.labelled("x", SENTIMENT, 0))), 1e-12);
    }
}
