package io.tune4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import io.tune4j.tokenizer.HfTokenizer;
import io.tune4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Preference records: the three layouts, a shared prompt, loss on the final response only, pair batches. */
class PreferenceDataTest {
    static Tokenizer tok;

    @BeforeAll
    static void load() {
        tok = HfTokenizer.load(Fixtures.require("models/stories260K-hf/tokenizer.json"));
    }

    @AfterAll
    static void close() {
        if (tok != null) tok.close();
    }

    static final String LAYOUTS = String.join("\n",
            "{\"prompt\": \"Is the sky blue?\", \"chosen\": \"Yes.\", \"rejected\": \"No, it is green.\"}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello.\"},"
                    + " {\"role\": \"user\", \"content\": \"Tell me a story\"}], \"chosen\": \"Once upon a time.\", \"rejected\": \"No.\"}",
            "{\"chosen\": [{\"role\": \"user\", \"content\": \"Name a cat\"}, {\"role\": \"assistant\", \"content\": \"Tom\"}],"
                    + " \"rejected\": [{\"role\": \"user\", \"content\": \"Name a cat\"}, {\"role\": \"assistant\", \"content\": \"Rex the dog\"}]}") + "\n";

    @Test
    void everyLayoutBecomesAPairSharingItsPrompt(@TempDir Path tmp) throws IOException {
        Path f = Files.writeString(tmp.resolve("pairs.jsonl"), LAYOUTS);
        assertTrue(PreferenceData.isPreferenceFile(f, null));
        PreferenceData d = PreferenceData.load(new PreferenceData.Spec(f, null, 0, null, new ChatMlTemplate(), 256, 1, false), tok);
        assertEquals(3, d.train().size(), d.summary());
        for (TokenizedPair p : d.train()) {
            int pc = promptLength(p.chosen()), pr = promptLength(p.rejected());
            // everything before the first trained token is the same prompt
            assertArrayEquals(Arrays.copyOf(p.chosen().ids(), Math.min(pc, pr)), Arrays.copyOf(p.rejected().ids(), Math.min(pc, pr)));
            assertTrue(Truncation.targets(p.chosen()) > 0 && Truncation.targets(p.rejected()) > 0);
        }
        // the chat's earlier assistant turn is context, not trained on: one trained span per side
        TokenizedPair chat = d.train().get(1);
        assertEquals(1, spans(chat.chosen()));
        assertEquals(1, spans(chat.rejected()));
    }

    @Test
    void conversationsThatDisagreeBeforeTheEndAreRejected() {
        RawRecord r = new RawRecord("x.jsonl", 1, (com.fasterxml.jackson.databind.node.ObjectNode) json(
                "{\"chosen\": [{\"role\": \"user\", \"content\": \"A\"}, {\"role\": \"assistant\", \"content\": \"B\"}],"
                        + " \"rejected\": [{\"role\": \"user\", \"content\": \"C\"}, {\"role\": \"assistant\", \"content\": \"D\"}]}"));
        DataFormatException e = assertThrows(DataFormatException.class, () -> PreferenceRecords.map(r));
        assertTrue(e.getMessage().contains("agree"), e.getMessage());
    }

    @Test
    void truncationKeepsTheResponses() {
        PreferencePair p = new PreferencePair("t", new Example.Instruction("t", "", "word ".repeat(200), "", "Yes."),
                new Example.Instruction("t", "", "word ".repeat(200), "", "No."));
        ExampleTokenizer et = new ExampleTokenizer(tok, false);
        TokenizedPair full = new PreferenceTokenizer(new AlpacaTemplate(), et, 4096).tokenize(p);
        TokenizedPair cut = new PreferenceTokenizer(new AlpacaTemplate(), et, 32).tokenize(p);
        assertTrue(cut.chosen().length() <= 32 && cut.rejected().length() <= 32);
        assertEquals(Truncation.targets(full.chosen()), Truncation.targets(cut.chosen()));
        assertEquals(Truncation.targets(full.rejected()), Truncation.targets(cut.rejected()));
        // the shortest sequence still holds BOS and the first response token of each side
        TokenizedPair tiny = new PreferenceTokenizer(new AlpacaTemplate(), et, 2).tokenize(p);
        assertEquals(1, Truncation.targets(tiny.chosen()));
        assertEquals(1, Truncation.targets(tiny.rejected()));
    }

    @Test
    void batchesInterleaveChosenAndRejectedRows() {
        ExampleTokenizer et = new ExampleTokenizer(tok, false);
        PreferenceTokenizer pt = new PreferenceTokenizer(new RawTemplate(), et, 64);
        List<TokenizedPair> pairs = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            pairs.add(pt.tokenize(new PreferencePair("t", new Example.Instruction("t", "", "Q" + i, "", " good"),
                    new Example.Instruction("t", "", "Q" + i, "", " bad"))));
        }
        PreferenceBatchSource s = new PreferenceBatchSource(pairs, 4, 64, 3, 0);
        assertEquals(3, s.batchesPerEpoch());
        assertThrows(IllegalArgumentException.class, () -> new PreferenceBatchSource(pairs, 3, 64, 3, 0));
        Batch last = s.batch(0, 2);
        assertEquals(1, io.tune4j.train.objective.PreferenceStep.countedPairs(last)); // one pair and an empty one
        for (int b = 0; b < s.batchesPerEpoch(); b++) {
            Batch x = s.batch(1, b);
            for (int k = 0; k < 2; k++) {
                int c = 2 * k * 64, r = c + 64;
                if (x.targets()[c] == TokenizedExample.IGNORE && rowEmpty(x, 2 * k)) continue;
                // the two rows of a pair share the prompt's first tokens
                assertEquals(x.ids()[c + 1], x.ids()[r + 1]);
            }
        }
    }

    private static boolean rowEmpty(Batch x, int row) {
        for (int t = row * 64; t < (row + 1) * 64; t++) if (x.targets()[t] != TokenizedExample.IGNORE) return false;
        return true;
    }

    private static com.fasterxml.jackson.databind.JsonNode json(String s) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(s);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static int promptLength(TokenizedExample x) {
        int i = 0;
        while (i < x.length() && x.labels()[i] == TokenizedExample.IGNORE) i++;
        return i;
    }

    private static int spans(TokenizedExample x) {
        int n = 0;
        for (int i = 0; i < x.length(); i++) {
            if (x.labels()[i] != TokenizedExample.IGNORE && (i == 0 || x.labels()[i - 1] == TokenizedExample.IGNORE)) n++;
        }
        return n;
    }
}
