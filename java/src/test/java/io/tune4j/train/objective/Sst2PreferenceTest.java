package io.tune4j.train.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.data.DataFormat;
import io.tune4j.data.PreferenceBatchSource;
import io.tune4j.data.PreferenceData;
import io.tune4j.data.RawTemplate;
import io.tune4j.eval.PreferenceEval;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.peft.LoraConfig;
import io.tune4j.peft.LoraMethod;
import io.tune4j.testing.Fixtures;
import io.tune4j.train.MetricsLog;
import io.tune4j.train.StepMetrics;
import io.tune4j.train.TrainConfig;
import io.tune4j.train.TrainResult;
import io.tune4j.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: a preference set made from SST-2 phrases (see {@link #CUES}) (prompt "Review: ...\nSentiment:", chosen the true label's
 * word, rejected the other) trains the stories260K fixture with LoRA + DPO and with ORPO, and the held-out
 * preference accuracy rises above the base model's.
 */
class Sst2PreferenceTest {
    static final int TRAIN_PAIRS = 2000, DEV_PAIRS = 200, SEQ_LEN = 48;

    /**
     * The phrases kept: short ones with exactly one common sentiment word. A 260K-parameter model trained on
     * children's stories does not learn SST-2's open vocabulary from a few thousand phrases in a few hundred
     * steps (on all phrases neither DPO nor ORPO moved held-out accuracy off the majority class); with a shared
     * set of cue words the held-out phrases are learnable, and still real reviews with SST-2's labels.
     */
    static final java.util.Set<String> CUES = java.util.Set.of("good", "bad", "best", "worst", "great", "boring", "funny",
            "dull", "fun", "beautiful", "awful", "terrible", "wonderful", "mess", "charming", "stupid");

    static boolean hasOneCue(String sentence) {
        String[] words = sentence.strip().split(" +");
        if (words.length > 8) return false;
        int cues = 0;
        for (String w : words) if (CUES.contains(w)) cues++;
        return cues == 1;
    }

    /** TSV sentence/label rows as prompt/chosen/rejected JSON lines. */
    static Path pairs(Path tsv, int n, Path out) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(tsv);
        StringBuilder sb = new StringBuilder();
        int kept = 0;
        for (int i = 1; i < lines.size() && kept < n; i++) {
            String[] f = lines.get(i).split("\t");
            if (f.length != 2) continue;
            if (!hasOneCue(f[0])) continue;
            boolean positive = f[1].strip().equals("1");
            ObjectNode o = json.createObjectNode();
            o.put("prompt", "Review: " + f[0].strip() + "\nSentiment:");
            o.put("chosen", positive ? " positive" : " negative");
            o.put("rejected", positive ? " negative" : " positive");
            sb.append(json.writeValueAsString(o)).append('\n');
            kept++;
        }
        Files.writeString(out, sb.toString());
        return out;
    }

    @Test
    void dpoRaisesHeldOutPreferenceAccuracy(@TempDir Path tmp) throws IOException {
        // a higher rate makes DPO push both responses' log-probabilities down together (5e-3: no held-out gain)
        run(tmp, TrainConfig.builder().objective(Objective.DPO).beta(0.1).lr(1e-3), 8);
    }

    @Test
    void orpoRaisesHeldOutPreferenceAccuracy(@TempDir Path tmp) throws IOException {
        run(tmp, TrainConfig.builder().objective(Objective.ORPO).orpoLambda(0.5).lr(5e-3), 8);
    }

    private void run(Path tmp, TrainConfig.Builder config, int r) throws IOException {
        Path train = pairs(Fixtures.require("data/sst2/train.tsv"), TRAIN_PAIRS, tmp.resolve("train.jsonl"));
        Path dev = pairs(Fixtures.require("data/sst2/dev.tsv"), DEV_PAIRS, tmp.resolve("dev.jsonl"));
        try (LoadedModel m = LoadedModel.load(Fixtures.require("models/stories260K-hf"), null, CpuOps.INSTANCE)) {
            PreferenceData data = PreferenceData.load(new PreferenceData.Spec(train, dev, 0, DataFormat.JSONL,
                    new RawTemplate(), SEQ_LEN, 1, false), m.tokenizer());
            assertEquals(TRAIN_PAIRS, data.train().size(), data.summary());
            int batch = 16; // rows: 8 pairs
            PreferenceBatchSource trainBatches = new PreferenceBatchSource(data.train(), batch, SEQ_LEN, 1, 0);
            PreferenceBatchSource devBatches = new PreferenceBatchSource(data.validation(), batch, SEQ_LEN, 1, 0);
            PreferenceEval.Result before = PreferenceEval.evaluate(m.model(), devBatches, 0);
            assertEquals(DEV_PAIRS, before.pairs());
            TrainConfig tc = config.maxSteps(400).warmupSteps(20).schedule(TrainConfig.Schedule.COSINE).evalEvery(TrainConfig.EVAL_AT_END)
                    .threads(2).build();
            try (LoraMethod lora = new LoraMethod(new LoraConfig(r, 2f * r, 0f, io.tune4j.peft.PeftFiles.MODULES, false, 3))) {
                long t0 = System.nanoTime();
                TrainResult tr = Trainer.builder().model(m.model()).method(lora).train(trainBatches).validation(devBatches)
                        .config(tc).outputDir(tmp.resolve("run")).progress(false).build().run();
                double seconds = (System.nanoTime() - t0) / 1e9;
                lora.setTraining(false);
                PreferenceEval.Result after = PreferenceEval.evaluate(m.model(), devBatches, 0);
                List<StepMetrics> ms = MetricsLog.read(tmp.resolve("run/metrics.jsonl"));
                StepMetrics last = ms.get(ms.size() - 1);
                System.err.printf("%s: base %s; tuned %s; %d steps in %.1f s; last step loss %.4f margins %.4f accuracy %.3f "
                                + "logps chosen %.3f rejected %.3f; validation loss %.4f accuracy %.3f%n",
                        tc.objective().id(), before.summary(), after.summary(), tr.steps(), seconds, last.loss(),
                        last.rewardsMargins(), last.rewardsAccuracy(), last.logpsChosen(), last.logpsRejected(),
                        last.valLoss(), last.valRewardsAccuracy());
                assertNotNull(last.rewardsMargins());
                assertNotNull(last.valRewardsAccuracy());
                assertTrue(Files.readString(tmp.resolve("run/metrics.jsonl")).contains("\"rewards/accuracy\""));
                assertTrue(after.accuracy() > before.accuracy() + 0.15,
                        tc.objective().id() + ": held-out preference accuracy " + before.accuracy() + " -> " + after.accuracy());
            }
        }
    }
}
