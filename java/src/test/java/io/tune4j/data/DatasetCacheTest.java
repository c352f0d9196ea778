package io.tune4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import io.tune4j.tokenizer.Tokenizer;
import io.tune4j.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetCacheTest {
    @TempDir
    Path tmp;

    @Test
    void reusedWhenUnchangedRebuiltOtherwise() throws IOException {
        Path model = Fixtures.require("models/stories260K-hf");
        Path data = Files.writeString(tmp.resolve("d.jsonl"),
                "{\"prompt\": \"Lily saw\", \"completion\": \" a cat.\"}\n{\"prompt\": \"Tom ran\", \"completion\": \" home.\"}\n");
        DatasetCache cache = new DatasetCache(tmp.resolve("out"));
        var spec = new DatasetPreparer.Spec(model, null, data, null, FieldMapping.auto(), "none", PrepareOptions.defaults(64));
        try (Tokenizer tok = Tokenizers.load(model, null)) {
            var first = DatasetPreparer.prepare(spec, tok, cache);
            assertFalse(first.cacheHit());
            for (String f : List.of(DatasetCache.TRAIN, DatasetCache.VALIDATION, DatasetCache.REPORT, DatasetCache.SUMMARY)) {
                assertTrue(Files.isRegularFile(cache.dir().resolve(f)), f);
            }
            try (Stream<Path> s = Files.list(cache.dir())) {
                assertEquals(4, s.count(), "no temporary files left behind");
            }
            var second = DatasetPreparer.prepare(spec, tok, cache);
            assertTrue(second.cacheHit());
            assertEquals(first.dataset().report(), second.dataset().report());
            assertEquals(first.dataset().train().size(), second.dataset().train().size());
            for (int i = 0; i < first.dataset().train().size(); i++) {
                assertArrayEquals(first.dataset().train().get(i).ids(), second.dataset().train().get(i).ids());
                assertArrayEquals(first.dataset().train().get(i).labels(), second.dataset().train().get(i).labels());
            }

            var otherLen = new DatasetPreparer.Spec(model, null, data, null, FieldMapping.auto(), "none", PrepareOptions.defaults(32));
            assertFalse(DatasetPreparer.prepare(otherLen, tok, cache).cacheHit(), "options are part of the key");
            assertTrue(DatasetPreparer.prepare(otherLen, tok, cache).cacheHit());
            var otherTemplate = new DatasetPreparer.Spec(model, null, data, null, FieldMapping.auto(), "alpaca",
                    PrepareOptions.defaults(256));
            assertFalse(DatasetPreparer.prepare(otherTemplate, tok, cache).cacheHit(), "the template is part of the key");

            Files.writeString(data, "{\"prompt\": \"Sue\", \"completion\": \" sang.\"}\n", java.nio.file.StandardOpenOption.APPEND);
            var changed = DatasetPreparer.prepare(otherTemplate, tok, cache);
            assertFalse(changed.cacheHit(), "the data bytes are part of the key");
            assertEquals(3, changed.dataset().train().size());

            Files.write(cache.dir().resolve(DatasetCache.TRAIN), new byte[] {1, 2, 3});
            assertFalse(DatasetPreparer.prepare(otherTemplate, tok, cache).cacheHit(), "a damaged file is rebuilt");
            assertTrue(DatasetPreparer.prepare(otherTemplate, tok, cache).cacheHit());
        }
    }

    @Test
    void tokenizerFilesArePartOfTheKey() throws IOException {
        Path src = Fixtures.require("models/stories260K-hf");
        Path model = Files.createDirectories(tmp.resolve("model"));
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) Files.copy(src.resolve(f), model.resolve(f));
        Path data = Files.writeString(tmp.resolve("d.jsonl"), "{\"text\": \"hello\"}\n");
        var spec = new DatasetPreparer.Spec(model, null, data, null, FieldMapping.auto(), null, PrepareOptions.defaults(64));
        String before = DatasetPreparer.key(spec);
        assertEquals(before, DatasetPreparer.key(spec));
        Files.writeString(model.resolve("tokenizer_config.json"),
                Files.readString(model.resolve("tokenizer_config.json")).replace("\"add_bos_token\": true", "\"add_bos_token\": false"));
        assertFalse(before.equals(DatasetPreparer.key(spec)));
    }

    @Test
    void binaryFormatRoundTrips() throws IOException {
        List<TokenizedExample> xs = List.of(new TokenizedExample(new int[] {1, 2, 3}, new int[] {-100, 2, 3}),
                new TokenizedExample(new int[0], new int[0]), new TokenizedExample(new int[] {511}, new int[] {511}));
        Path f = tmp.resolve("x.bin");
        DatasetCache.writeAtomically(f, DatasetCache.encode("abc", xs));
        List<TokenizedExample> back = DatasetCache.readExamples(f, "abc");
        assertEquals(3, back.size());
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(xs.get(i).ids(), back.get(i).ids());
            assertArrayEquals(xs.get(i).labels(), back.get(i).labels());
        }
        assertEquals(null, DatasetCache.readExamples(f, "abd"), "another key reads as a miss");
    }
}
