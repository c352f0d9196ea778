package io.tune4j.finetune;

import io.tune4j.eval.BeforeAfterReport;
import io.tune4j.train.TrainResult;
import java.nio.file.Path;

/** What a run produced: the training outcome, base vs tuned evaluation, and where the result is. */
public record FineTuneResult(TrainResult training, BeforeAfterReport evaluation, Path resultDir, Path outDir) {}
