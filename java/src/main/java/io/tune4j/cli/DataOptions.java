package io.tune4j.cli;

import io.tune4j.data.FieldMapping;
import io.tune4j.finetune.DataSpec;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * How records become training tokens, shared by prepare, finetune and eval: the same flags give
 * the same tokens everywhere, so eval on a validation file measures what finetune trained on.
 */
final class DataOptions {
    @Option(names = "--template", paramLabel = "NAME",
            description = "alpaca, chatml, llama2, model (the tokenizer's chat_template) or none; default: none for text, "
                    + "model (or chatml) for chats, alpaca otherwise")
    String template;

    @Option(names = "--format", paramLabel = "FMT", description = "json, jsonl, csv, tsv or txt (default: from the extension)")
    String format;

    @Option(names = "--text-mode", paramLabel = "MODE",
            description = "for .txt: paragraphs (one example per blank-line-separated paragraph, the default) or whole-file "
                    + "(one document cut into --seq-len chunks)")
    String textMode;

    @Option(names = "--kind", paramLabel = "KIND",
            description = "record layout: auto (default), alpaca, chat, prompt-completion, text or label")
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

    @Option(names = "--seq-len", paramLabel = "N",
            description = "tokens per sequence (default: the model's context, at most " + DataSpec.DEFAULT_SEQ_LEN + ")")
    Integer seqLen;

    @Option(names = {"--truncation", "--over-long"}, paramLabel = "POLICY",
            description = "examples longer than --seq-len: keep-response (cut the start of the prompt, the default), left, "
                    + "right, drop, or split (the default for whole-file text)")
    String truncation;

    @Option(names = "--train-on-prompt", description = "compute the loss on prompt tokens too")
    boolean trainOnPrompt;

    @Option(names = "--no-eos-loss", description = "do not train the EOS after responses (models whose EOS was never "
            + "trained, e.g. llama2.c conversions, where LoRA cannot learn to emit it)")
    boolean noEosLoss;

    @Option(names = "--keep-duplicates", description = "keep exact and near duplicates")
    boolean keepDuplicates;

    @Option(names = "--pack", description = "pack short examples into full sequences (attention stays within each example)")
    boolean pack;

    @Option(names = "--skip-bad-records", description = "skip and count malformed records instead of stopping at the first")
    boolean skipBadRecords;

    @Option(names = "--strict-data", description = "stop before training when more than 10% of the records or of the "
            + "response tokens would be lost")
    boolean strictData;

    DataSpec spec(String train, String validation, Double valSplit) {
        Map<String, String> fields = new LinkedHashMap<>();
        putIf(fields, "instruction", instructionField);
        putIf(fields, "input", inputField);
        putIf(fields, "output", outputField);
        putIf(fields, "system", systemField);
        putIf(fields, "messages", messagesField);
        putIf(fields, "prompt", promptField);
        putIf(fields, "completion", completionField);
        putIf(fields, "text", textField);
        putIf(fields, "label", labelField);
        return new DataSpec(train, validation, valSplit, template, format, textMode, kind, fields,
                labelMap == null ? null : FieldMapping.parseLabelMap(labelMap), labelInstruction, seqLen, truncation,
                trainOnPrompt ? true : null, keepDuplicates ? true : null, skipBadRecords ? true : null, pack ? true : null,
                noEosLoss ? false : null, strictData ? true : null);
    }

    private static void putIf(Map<String, String> m, String key, String value) {
        if (value != null) m.put(key, value);
    }
}
