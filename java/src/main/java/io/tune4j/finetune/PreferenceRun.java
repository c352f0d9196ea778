package io.tune4j.finetune;

import io.tune4j.data.PreferenceBatchSource;
import io.tune4j.data.PreferenceData;
import io.tune4j.data.PromptTemplate;
import io.tune4j.data.Templates;
import io.tune4j.eval.BeforeAfterReport;
import io.tune4j.eval.EvalReport;
import io.tune4j.eval.PreferenceEval;
import io.tune4j.io.AtomicFiles;
import io.tune4j.model.LoadedModel;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.train.TrainConfig;
import io.tune4j.train.TrainResult;
import io.tune4j.train.Trainer;
import io.tune4j.train.TrainingListener;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * The preference-tuning part of a {@link FineTuneRun} (objective dpo or orpo): pairs instead of examples,
 * and preference accuracy on the validation pairs, base against tuned, instead of generation metrics.
 */
final class PreferenceRun {
    private PreferenceRun() {}

    record Context(FineTuneSpec spec, LoadedModel model, FineTuneMethod method, TrainConfig config, int seqLen, Path out,
                   Path modelDir, PrintStream log, List<TrainingListener> listeners, boolean progress, boolean resume) {}

    static FineTuneResult run(Context x) {
        DataSpec d = x.spec().data();
        Path trainFile = Path.of(d.train());
        PromptTemplate template = Templates.byName(d.template() != null ? d.template()
                : PreferenceData.defaultTemplate(trainFile, d.dataFormat(), x.modelDir()), x.modelDir());
        PreferenceData data = PreferenceData.load(new PreferenceData.Spec(trainFile,
                d.validation() == null ? null : Path.of(d.validation()), d.valSplit() == null ? 0 : d.valSplit(),
                d.dataFormat(), template, x.seqLen(), x.config().seed(), Boolean.TRUE.equals(d.skipBadRecords())),
                x.model().tokenizer());
        x.log().print(data.summary());
        if (data.train().isEmpty()) throw new IllegalArgumentException(d.train() + ": no preference pairs to train on");
        TrainConfig tc = x.config();
        int batch = tc.batchSize() > 0 ? tc.batchSize() : FineTuneRun.DEFAULT_BATCH;
        int pad = FineTuneRun.padId(x.model());
        PreferenceBatchSource train = new PreferenceBatchSource(data.train(), batch, x.seqLen(), tc.seed(), pad);
        List<io.tune4j.data.TokenizedPair> valPairs = data.validation().subList(0,
                Math.min(data.validation().size(), x.spec().eval().limitOrDefault()));
        PreferenceBatchSource val = valPairs.isEmpty() ? null
                : new PreferenceBatchSource(valPairs, batch, x.seqLen(), tc.seed(), pad);

        EvalReport before = report(val == null ? null : PreferenceEval.evaluate(x.model().model(), val, 0));
        if (before.accuracy() != null) x.log().println("base model:  preference accuracy " + before.accuracy());

        Trainer.Builder tb = Trainer.builder().model(x.model().model()).method(x.method()).train(train).validation(val)
                .config(tc.toBuilder().seqLen(x.seqLen()).batchSize(batch).build()).outputDir(x.out()).progress(x.progress());
        for (TrainingListener l : x.listeners()) tb.listener(l);
        if (x.resume()) tb.resumeLatest();
        TrainResult tr = tb.build().run();

        x.method().setTraining(false);
        EvalReport after = report(val == null ? null : PreferenceEval.evaluate(x.model().model(), val, 0));
        BeforeAfterReport report = new BeforeAfterReport(before, after, val == null ? null
                : BeforeAfterReport.Selection.of(tc.select().name().toLowerCase(java.util.Locale.ROOT), tr.keptStep(),
                        tr.steps(), tr.bestValLoss(), tr.lastValLoss(), null, null));
        AtomicFiles.writeString(x.out().resolve("eval.json"), report.toJson());
        if (after.accuracy() != null) x.log().println("tuned model: preference accuracy " + after.accuracy());
        return new FineTuneResult(tr, report, FineTuneRun.keepResult(tr, x.out().resolve(x.spec().method().resultDirName())),
                x.out());
    }

    /** accuracy holds the preference accuracy: the fraction of pairs whose chosen response is the more likely. */
    static EvalReport report(PreferenceEval.Result r) {
        if (r == null) return new EvalReport(null, null, null, null, null, null, null, null, null, null, null);
        return new EvalReport(null, null, null, r.accuracy(), null, null, null, null,
                new EvalReport.Counts(r.pairs(), null, null, null, null, null, null, null, null), null, null);
    }

}
