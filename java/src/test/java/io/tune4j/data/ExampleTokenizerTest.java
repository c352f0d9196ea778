package io.tune4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import io.tune4j.tokenizer.HfTokenizer;
import io.tune4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Masks on the stories260K tokenizer (BOS 1, EOS 2). */
class ExampleTokenizerTest {
    static Tokenizer tok;

    @BeforeAll
    static void load() {
        tok = HfTokenizer.load(Fixtures.require("models/stories260K-hf/tokenizer.json"));
    }

    @AfterAll
    static void close() {
        if (tok != null) tok.close();
    }

    /** The runs of trained tokens, decoded. */
    static List<String> trainedSpans(TokenizedExample x) {
        List<String> out = new ArrayList<>();
        int[] l = x.labels();
        for (int i = 0; i < l.length; ) {
            if (l[i] == TokenizedExample.IGNORE) {
                i++;
                continue;
            }
            int j = i;
            while (j < l.length && l[j] != TokenizedExample.IGNORE) j++;
            out.add(tok.decode(Arrays.copyOfRange(x.ids(), i, j)));
            i = j;
        }
        return out;
    }

    @Test
    void promptTokensAreMaskedAndEosIsAppended() {
        ExampleTokenizer et = new ExampleTokenizer(tok, false);
        Example.Instruction ex = new Example.Instruction("t:1", "", "Tell a story.", "", "Once upon a time there was a cat.");
        TokenizedExample x = et.tokenize(new AlpacaTemplate().segments(ex));
        assertEquals(1, x.ids()[0], "BOS first");
        assertEquals(2, x.ids()[x.length() - 1], "EOS last");
        assertEquals(2, x.labels()[x.length() - 1], "EOS is trained on");
        // the whole text tokenises as inference would see it
        int[] whole = tok.encode(new AlpacaTemplate().render(ex, "", ""), true);
        assertArrayEquals(whole, Arrays.copyOf(x.ids(), x.length() - 1));
        assertEquals(List.of("Once upon a time there was a cat."), trainedSpans(x));
        for (int i = 0; i < x.length(); i++) {
            assertTrue(x.labels()[i] == TokenizedExample.IGNORE || x.labels()[i] == x.ids()[i]);
        }
        int firstTrained = 0;
        while (x.labels()[firstTrained] == TokenizedExample.IGNORE) firstTrained++;
        String prompt = tok.decode(Arrays.copyOf(x.ids(), firstTrained));
        assertTrue(prompt.endsWith("### Response:\n"), prompt);
    }

    @Test
    void withoutEosLossTheEosStaysButCarriesNoLabel() {
        Example.Instruction ex = new Example.Instruction("t:1", "", "Tell a story.", "", "Once upon a time.");
        TokenizedExample with = new ExampleTokenizer(tok, false).tokenize(new AlpacaTemplate().segments(ex));
        TokenizedExample without = new ExampleTokenizer(tok, false, false).tokenize(new AlpacaTemplate().segments(ex));
        assertArrayEquals(with.ids(), without.ids());
        assertEquals(2, without.ids()[without.length() - 1]);
        assertEquals(TokenizedExample.IGNORE, without.labels()[without.length() - 1]);
        assertArrayEquals(Arrays.copyOf(with.labels(), with.length() - 1), Arrays.copyOf(without.labels(), without.length() - 1));
    }

    @Test
    void trainOnPromptLabelsEveryTokenButBos() {
        Example.Instruction ex = new Example.Instruction("t:1", "", "Tell a story.", "", "Once upon a time.");
        TokenizedExample x = new ExampleTokenizer(tok, true).tokenize(new AlpacaTemplate().segments(ex));
        assertEquals(TokenizedExample.IGNORE, x.labels()[0]);
        for (int i = 1; i < x.length(); i++) assertEquals(x.ids()[i], x.labels()[i]);
    }

    @Test
    void multiTurnChatsTrainOnEveryAssistantTurn() {
        ExampleTokenizer et = new ExampleTokenizer(tok, false);
        TokenizedExample x = et.tokenize(new ChatMlTemplate().segments(TemplateTest.CHAT));
        List<String> spans = trainedSpans(x);
        assertEquals(2, spans.size(), spans.toString());
        assertTrue(spans.get(0).startsWith("Hello!<|im_end|>"), spans.get(0));
        assertTrue(spans.get(1).startsWith("4<|im_end|>"), spans.get(1));
        long eos = Arrays.stream(x.ids()).filter(i -> i == 2).count();
        assertEquals(2, eos, "one EOS after each response");

        TokenizedExample l2 = et.tokenize(new Llama2Template().segments(TemplateTest.CHAT));
        assertEquals(List.of("Hello!", "4"), trainedSpans(l2).stream().map(String::strip).toList());
        assertEquals(2, Arrays.stream(l2.ids()).filter(i -> i == 1).count(), "BOS opens every exchange");
    }

    @Test
    void templateThatSpellsEosDoesNotGetASecondOne() {
        JinjaChatTemplate t = new JinjaChatTemplate(TemplateTest.LLAMA2_JINJA, "<s>", "</s>", "test");
        TokenizedExample x = new ExampleTokenizer(tok, false).tokenize(t.segments(TemplateTest.CHAT));
        assertEquals(2, Arrays.stream(x.ids()).filter(i -> i == 2).count());
        assertEquals(2, Arrays.stream(x.ids()).filter(i -> i == 1).count(), "<s> in the text is the BOS token");
        assertEquals(List.of("Hello!", "4"), trainedSpans(x).stream().map(String::strip).toList());
    }
}
