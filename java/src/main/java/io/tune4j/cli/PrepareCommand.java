package io.tune4j.cli;

import io.tune4j.data.DatasetCache;
import io.tune4j.data.DatasetPreparer;
import io.tune4j.data.FieldMapping;
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

    @Option(names = "--template", paramLabel = "NAME",
            description = "alpaca, chatml, llama2, model (the tokenizer's chat_template) or none; default: none for text, "
                    + "model (or chatml) for chats, alpaca otherwise")
    String template;

    @Option(names = "--format", paramLabel = "FMT", description = "json, jsonl, csv, tsv or txt (default: from the extension)")
    String format;

    @Option(names = "--text-mode", paramLabel = "MODE", defaultValue = "paragraphs",
            description = "for .txt: paragraphs (one example per blank-line-separated paragraph) or whole-file (one "
                    + "document cut into --seq-len chunks) (default: ${DEFAULT-VALUE})")
    String textMode;

    @Option(names = "--kind", paramLabel = "KIND", defaultValue = "auto",
            description = "record layout: auto, alpaca, chat, prompt-completion, text or label (default: ${DEFAULT-VALUE})")
    String kind;

    @Option(names = "--instruction-field", paramLabel = "NAME") String instructionField;
    @Option(names = "--input-field", paramLabel = "NAME") String inputField;
    @Option(names = "--output-field", paramLabel = "NAME") String outputField;
    @Option(names = "--system-field", paramLabel = "NAME") String systemField;
    @Option(names = "--messages-field", paramLabel = "NAME") String messagesField;
    @Option(names = "--prompt-field", paramLabel = "NAME") String promptField;
    @Option(names = "--completion-field", paramLabel = "NAME") String completionField;
    @Option(names = "--text-field", paramLabel = "NAME") String textField;
    @Option(names = "--label-field", paramLabel = "NAME") String labelField;

    @Option(names = "--label-map", paramLabel = "V=WORD,...", description = "label values to response words, e.g. 0=negative,1=positive")
    String labelMap;

    @Option(names = "--label-instruction", paramLabel = "TEXT",
            description = "instruction for label tasks (the text column becomes its input)")
    String labelInstruction;

    @Option(names = "--seq-len", paramLabel = "N", description = "sequence length (default: the model's context length)")
    Integer seqLen;

    @Option(names = "--over-long", paramLabel = "POLICY",
            description = "truncate, drop or split examples longer than --seq-len (default: split for whole-file text, "
                    + "truncate otherwise)")
    String overLong;

    @Option(names = "--train-on-prompt", description = "compute the loss on prompt tokens too")
    boolean trainOnPrompt;

    @Option(names = "--no-eos-loss", description = "do not train the EOS after responses")
    boolean noEosLoss;

    @Option(names = "--keep-duplicates", description = "keep exact and near duplicates")
    boolean keepDuplicates;

    @Option(names = "--pack", description = "report how the examples pack into full sequences (training packs them)")
    boolean pack;

    @Option(names = "--skip-bad-records", description = "skip and count malformed records instead of stopping at the first")
    boolean skipBadRecords;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory (also the cache)")
    Path out;

    @Override
    public Integer call() throws Exception {
        Path modelPath = ModelLocator.resolve(model.model);
        Path modelDir = Files.isDirectory(modelPath) ? modelPath : modelPath.toAbsolutePath().getParent();
        int len = seqLen != null ? seqLen : contextLength(modelDir);
        java.util.Map<String, String> fields = new java.util.LinkedHashMap<>();
        putIf(fields, "instruction", instructionField);
        putIf(fields, "input", inputField);
        putIf(fields, "output", outputField);
        putIf(fields, "system", systemField);
        putIf(fields, "messages", messagesField);
        putIf(fields, "prompt", promptField);
        putIf(fields, "completion", completionField);
        putIf(fields, "text", textField);
        putIf(fields, "label", labelField);
        DataSpec ds = new DataSpec(data.toString(), validation.file == null ? null : validation.file.toString(),
                validation.file == null ? validation.fraction : null, template, format, textMode, kind, fields,
                FieldMapping.parseLabelMap(labelMap), labelInstruction, len, overLong, trainOnPrompt,
                keepDuplicates, skipBadRecords, pack, !noEosLoss);
        var spec = ds.prepareSpec(modelDir, model.tokenizer, len, seed);
        try (Tokenizer tok = Tokenizers.load(modelPath, model.tokenizer)) {
            var r = DatasetPreparer.prepare(spec, tok, new DatasetCache(out));
            System.out.print(r.dataset().report().summary());
            System.out.println((r.cacheHit() ? "unchanged, reused " : "written to ") + out);
        }
        return 0;
    }

    private static void putIf(java.util.Map<String, String> m, String key, String value) {
        if (value != null) m.put(key, value);
    }

    private static int contextLength(Path modelDir) {
        if (modelDir != null && Files.isRegularFile(modelDir.resolve(LlamaConfigReader.CONFIG))) {
            return LlamaConfigReader.read(modelDir).maxPositions();
        }
        throw new IllegalArgumentException("--seq-len is needed: the model has no config.json to take the context length from");
    }
}
