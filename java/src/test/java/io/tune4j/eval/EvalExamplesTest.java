package io.tune4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.data.AlpacaTemplate;
import io.tune4j.data.DataFormat;
import io.tune4j.data.FieldMapping;
import io.tune4j.data.PromptTemplate;
import io.tune4j.data.RawTemplate;
import io.tune4j.data.TextMode;
import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Evaluation reads every layout finetune trains on, and asks the question the template taught. */
class EvalExamplesTest {
    @TempDir
    Path tmp;

    private static List<EvalExample> read(Path f, FieldMapping m, PromptTemplate t, int limit) {
        return EvalExamples.from(f, DataFormat.fromFileName(f), TextMode.PARAGRAPHS, m, t, limit);
    }

    @Test
    void alpacaRecordsUseTheAlpacaPrompt() throws IOException {
        Path f = Files.writeString(tmp.resolve("a.jsonl"), """
                {"instruction": "Add", "input": "2 and 2", "output": "4"}
                {"instruction": "Greet", "output": "hi"}
                """);
        List<EvalExample> ex = read(f, FieldMapping.auto(), new AlpacaTemplate(), 0);
        assertEquals(2, ex.size());
        assertEquals(AlpacaTemplate.PREAMBLE_INPUT + "### Instruction:\nAdd\n\n### Input:\n2 and 2\n\n### Response:\n",
                ex.get(0).prompt());
        assertEquals("4", ex.get(0).reference());
        assertEquals(AlpacaTemplate.PREAMBLE_NO_INPUT + "### Instruction:\nGreet\n\n### Response:\n", ex.get(1).prompt());
    }

    @Test
    void chatRecordsAskTheFirstAssistantTurn() throws IOException {
        Path f = Files.writeString(tmp.resolve("c.jsonl"), """
                {"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi there"},
                """.strip() + " {\"role\": \"user\", \"content\": \"more\"}, {\"role\": \"assistant\", \"content\": \"no\"}]}\n");
        List<EvalExample> ex = read(f, FieldMapping.auto(), new RawTemplate(), 0);
        assertEquals(List.of(new EvalExample("hello\n", "hi there")), ex);
    }

    @Test
    void promptReferenceOptionsAndQuestionAnswer() throws IOException {
        Path f = Files.writeString(tmp.resolve("p.jsonl"), """
                {"prompt": "Q: 2+2?", "reference": "4"}
                {"prompt": "Is it?", "reference": "yes", "options": ["yes", "no"]}
                {"prompt": "Pick", "options": ["a", "b", "c"], "label": 2}
                """);
        List<EvalExample> ex = read(f, FieldMapping.auto(), new RawTemplate(), 0);
        assertEquals(3, ex.size());
        assertEquals(new EvalExample("Q: 2+2?\n", "4"), ex.get(0));
        assertEquals(List.of("yes", "no"), ex.get(1).options());
        assertEquals(0, ex.get(1).goldIndex());
        assertEquals(2, ex.get(2).goldIndex());
        assertEquals("c", ex.get(2).reference());

        List<EvalExample> gsm = read(Fixtures.require("data/gsm8k/test.jsonl"), FieldMapping.auto(), new AlpacaTemplate(), 3);
        assertEquals(3, gsm.size());
        assertEquals("18", NumericAnswer.extract(gsm.get(0).reference()));
        assertTrue(gsm.get(0).prompt().startsWith(AlpacaTemplate.PREAMBLE_NO_INPUT + "### Instruction:\n"), gsm.get(0).prompt());
    }

    @Test
    void sst2TsvIsALabelTaskWithItsLabelWords() throws IOException {
        Path dev = Fixtures.require("data/sst2/dev.tsv");
        FieldMapping m = FieldMapping.of(FieldMapping.Kind.LABEL)
                .withLabels(null, null, Map.of("0", "negative", "1", "positive"), null);
        List<EvalExample> all = read(dev, m, new RawTemplate(), 0);
        assertEquals(Files.readAllLines(dev).stream().skip(1).filter(l -> !l.isBlank()).count(), all.size());
        String[] line = Files.readAllLines(dev).get(1).split("\t");
        EvalExample first = all.get(0);
        assertEquals(line[0] + "\n", first.prompt());
        assertEquals(2, first.options().size());
        assertTrue(first.options().containsAll(List.of("negative", "positive")), first.options().toString());
        assertEquals(line[1].strip().equals("1") ? "positive" : "negative", first.reference());
    }

    @Test
    void csvAndPlainTextRead() throws IOException {
        Path csv = Files.writeString(tmp.resolve("d.csv"), "instruction,output\n\"Say, hi\",hello\n");
        assertEquals(List.of(new EvalExample("Say, hi\n", "hello")), read(csv, FieldMapping.auto(), new RawTemplate(), 0));
        Path txt = Files.writeString(tmp.resolve("d.txt"), "one story.\n\nanother story.\n");
        assertEquals(List.of(new EvalExample("", "one story."), new EvalExample("", "another story.")),
                read(txt, FieldMapping.auto(), new RawTemplate(), 0));
    }

    @Test
    void badRecordsAreSkippedAndLimitCounts() throws IOException {
        Path f = Files.writeString(tmp.resolve("b.jsonl"), """
                {"prompt": "p1", "reference": "r1"}
                {"prompt": "p2"}
                not json
                {"prompt": "p3", "reference": "r3"}
                {"prompt": "p4", "reference": "r4"}
                """);
        List<EvalExample> ex = read(f, FieldMapping.auto(), new RawTemplate(), 2);
        assertEquals(List.of(new EvalExample("p1\n", "r1"), new EvalExample("p3\n", "r3")), ex);
    }
}
