package io.tune4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `tune4j finetune --objective dpo|orpo` and `tune4j eval` on preference pairs, on the stories260K model. */
class PreferenceCommandTest {
    @TempDir
    Path tmp;

    private Path pairs() throws IOException {
        StringBuilder sb = new StringBuilder();
        String[] animals = {"cat", "dog", "bird", "fish", "frog", "duck"};
        for (int i = 0; i < 24; i++) {
            String a = animals[i % animals.length];
            sb.append("{\"prompt\": \"What does the ").append(a).append(" say? ").append(i)
                    .append("\", \"chosen\": \"It is happy.\", \"rejected\": \"It is sad and tired.\"}\n");
        }
        return Files.writeString(tmp.resolve("pairs.jsonl"), sb.toString());
    }

    private String[] args(Path data, Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("finetune", "--model",
                Fixtures.require("models/stories260K-hf").toString(), "--data", data.toString(), "--val-split", "0.25",
                "--max-steps", "4", "--batch-size", "4", "--seq-len", "64", "--lr", "3e-3", "--out", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void dpoWithLoraWritesPreferenceMetricsAndItsRunFileCarriesTheObjective() throws IOException {
        Path data = pairs(), out = tmp.resolve("dpo");
        CliTest.Run r = CliTest.run(args(data, out, "--objective", "dpo", "--beta", "0.2"));
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(4, lines.size());
        for (String k : List.of("\"rewards/margins\"", "\"rewards/accuracy\"", "\"logps/chosen\"", "\"logps/rejected\"")) {
            assertTrue(lines.get(0).contains(k), k + " missing: " + lines.get(0));
        }
        assertTrue(lines.get(3).contains("\"valRewards/accuracy\""), lines.get(3));
        String run = Files.readString(out.resolve("run.yaml"));
        assertTrue(run.contains("objective: dpo") && run.contains("beta: 0.2"), run);
        assertTrue(Files.exists(out.resolve("adapter/adapter_model.safetensors")));
        assertTrue(Files.readString(out.resolve("eval.json")).contains("\"accuracy\""));

        CliTest.Run e = CliTest.run("eval", "--model", Fixtures.require("models/stories260K-hf").toString(), "--adapter",
                out.resolve("adapter").toString(), "--data", data.toString(), "--seq-len", "64");
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains("\"preference_accuracy\""), e.out());
        assertTrue(e.out().contains("\"pairs\": 24"), e.out());
    }

    @Test
    void dpoWithFullFineTuningAndOrpoRun() throws IOException {
        Path data = pairs();
        CliTest.Run r = CliTest.run(args(data, tmp.resolve("full"), "--objective", "dpo", "--method", "full"));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(tmp.resolve("full/model")), "full fine-tune writes a model directory");
        r = CliTest.run(args(data, tmp.resolve("orpo"), "--objective", "orpo", "--orpo-lambda", "0.3"));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readString(tmp.resolve("orpo/run.yaml")).contains("orpoLambda: 0.3"));
        String[] odd = args(data, tmp.resolve("odd"), "--objective", "dpo");
        for (int i = 0; i + 1 < odd.length; i++) if (odd[i].equals("--batch-size")) odd[i + 1] = "3";
        r = CliTest.run(odd);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("even"), r.err());
    }
}
