package io.tune4j.cli;

import io.tune4j.data.DataLoss;
import io.tune4j.data.DatasetCache;
import io.tune4j.data.DatasetPreparer;
import io.tune4j.finetune.DataSpec;
import io.tune4j.model.ModelLocator;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.tokenizer.Tokenizer;
import io.tune4j.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "prepare", mixinStandardHelpOptions = true,
        description = "Tokenise a fine-tuning dataset: train/validation sets, report.json and summary.txt in --out. "
                + "An unchanged input is loaded from --out instead of being prepared again.")
final class PrepareCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "training data: .json, .jsonl, .csv, .tsv or .txt")
    Path data;

    @ArgGroup(exclusive = true)
    Validation validation = new Validation();

    static final class Validation {
        @Option(names = "--val-data", paramLabel = "FILE", description = "validation data (same layout as --data)")
        Path file;

        @Option(names = "--val-split", paramLabel = "F", description = "fraction of --data held out for validation, chosen by --seed")
        double fraction;
    }

    @Option(names = "--seed", defaultValue = "42", description = "seed of the validation split (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory (also the cache)")
    Path out;

    @Override
    public Integer call() throws Exception {
        Path modelPath = ModelLocator.resolve(model.model);
        Path modelDir = Files.isDirectory(modelPath) ? modelPath : modelPath.toAbsolutePath().getParent();
        DataSpec ds = dataOptions.spec(data.toString(), validation.file == null ? null : validation.file.toString(),
                validation.file == null ? validation.fraction : null);
        int len = ds.seqLen() != null ? ds.seqLen() : ds.seqLenFor(0, contextLength(modelDir));
        var spec = ds.prepareSpec(modelDir, model.tokenizer, len, seed);
        try (Tokenizer tok = Tokenizers.load(modelPath, model.tokenizer)) {
            var r = DatasetPreparer.prepare(spec, tok, new DatasetCache(out));
            System.out.print(r.dataset().report().summary());
            System.out.println((r.cacheHit() ? "unchanged, reused " : "written to ") + out);
            if (ds.strict()) DataLoss.requireNone(r.dataset().report());
        }
        return 0;
    }

    private static int contextLength(Path modelDir) {
        if (modelDir != null && Files.isRegularFile(modelDir.resolve(LlamaConfigReader.CONFIG))) {
            return LlamaConfigReader.read(modelDir).maxPositions();
        }
        throw new IllegalArgumentException("--seq-len is needed: the model has no config.json to take the context length from");
    }
}
