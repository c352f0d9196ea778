package io.tune4j.finetune;

import io.tune4j.data.BatchSource;
import io.tune4j.data.BatchSources;
import io.tune4j.data.DataReport;
import io.tune4j.data.PreparedDataset;
import io.tune4j.data.Preprocessor;
import io.tune4j.data.Templates;
import io.tune4j.data.TokenizedExample;
import io.tune4j.eval.EvalExample;
import io.tune4j.eval.EvalExamples;
import io.tune4j.model.LoadedModel;
import java.nio.file.Path;
import java.util.List;

/**
 * A validation file read as a fine-tuning run reads it (same preparation, sequence length, batch
 * size, seed and cap), so that `eval` on it gives the number finetune reported as "after".
 *
 * @param examples the prepared examples the loss covers (the first limit of them)
 * @param lossBatches those examples batched as the run batched them
 * @param report what preparation kept and lost
 */
public record ValidationData(List<TokenizedExample> examples, BatchSource lossBatches, DataReport report) {

    public static ValidationData read(DataSpec spec, Path file, LoadedModel m, Path modelDir, int limit, int batchSize,
                                      long seed) {
        int seqLen = spec.seqLenFor(0, m.config().maxPositions());
        DataSpec forFile = spec.withFiles(file.toString(), null);
        Preprocessor p = new Preprocessor(m.tokenizer(), forFile.mapping(),
                spec.template() == null ? null : Templates.byName(spec.template(), modelDir), modelDir,
                forFile.options(seqLen, seed));
        PreparedDataset d = p.prepareValidation(file);
        List<TokenizedExample> xs = d.validation();
        if (xs.isEmpty()) throw new IllegalArgumentException(file + ": no examples left after preprocessing");
        if (limit > 0) xs = xs.subList(0, Math.min(limit, xs.size()));
        BatchSource batches = BatchSources.of(xs, batchSize, seqLen, seed, spec.pack(), FineTuneRun.padId(m));
        return new ValidationData(xs, batches, d.report());
    }

    /** The records as prompt/reference pairs, in the template preparation used. */
    public List<EvalExample> promptsAndReferences(DataSpec spec, Path file, Path modelDir, int limit) {
        return EvalExamples.from(file, spec.dataFormat(), spec.mode(), spec.mapping(),
                Templates.byName(report.template(), modelDir), limit);
    }
}
