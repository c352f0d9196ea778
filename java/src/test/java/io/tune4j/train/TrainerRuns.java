package io.tune4j.train;

import io.tune4j.data.BatchSource;
import io.tune4j.model.LlamaModel;
import io.tune4j.peft.FineTuneMethod;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Trainer runs for tests that compare two runs step by step. */
final class TrainerRuns {
    private TrainerRuns() {}

    /** Trains quietly and returns every step's metrics, in order. */
    static List<StepMetrics> steps(LlamaModel model, FineTuneMethod method, BatchSource train, TrainConfig config,
                                   Path out) {
        List<StepMetrics> steps = new ArrayList<>();
        Trainer.builder().model(model).method(method).train(train).config(config).outputDir(out).progress(false)
                .listener(new TrainingListener() {
                    @Override
                    public void onStep(StepMetrics s) {
                        steps.add(s);
                    }
                })
                .build().run();
        return steps;
    }
}
