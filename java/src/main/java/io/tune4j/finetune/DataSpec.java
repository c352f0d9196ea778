package io.tune4j.finetune;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.tune4j.data.DataFormat;
import io.tune4j.data.DatasetPreparer;
import io.tune4j.data.FieldMapping;
import io.tune4j.data.Truncation;
import io.tune4j.data.PrepareOptions;
import io.tune4j.data.TextMode;
import java.nio.file.Path;
import java.util.Map;

/**
 * Which data a run trains and validates on, and how it becomes token sequences. Field names
 * (instruction, input, output, system, messages, prompt, completion, text, label) map the
 * record layout when it is not recognised automatically.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DataSpec(String train, String validation, Double valSplit, String template, String format, String textMode,
                       String kind, Map<String, String> fields, Map<String, String> labelMap, String labelInstruction,
                       Integer seqLen, @JsonAlias("overLong") String truncation, Boolean trainOnPrompt, Boolean keepDuplicates,
                       Boolean skipBadRecords, Boolean packed, Boolean eosLoss, Boolean strictData) {

    /** Longest default sequence: longer contexts cost memory and time most examples do not need. */
    public static final int DEFAULT_SEQ_LEN = 512;

    public DataSpec {
        if (train == null) throw new IllegalArgumentException("data: 'train' (the training data file) is required");
        fields = fields == null ? Map.of() : Map.copyOf(fields);
        labelMap = labelMap == null ? Map.of() : Map.copyOf(labelMap);
        if (truncation != null) Truncation.parse(truncation); // a bad name fails when the spec is read, not mid-run
        if (validation != null && valSplit != null && valSplit > 0) {
            throw new IllegalArgumentException("data: give either 'validation' or 'valSplit', not both");
        }
    }

    /** Whether short examples are packed into full sequences (kept apart by the attention mask). */
    public boolean pack() {
        return Boolean.TRUE.equals(packed);
    }

    /**
     * The sequence length the data is cut to: this spec's, else the training configuration's
     * (trainSeqLen &gt; 0), else the model's context up to {@link #DEFAULT_SEQ_LEN}.
     */
    public int seqLenFor(int trainSeqLen, int context) {
        int s = seqLen != null ? seqLen : trainSeqLen > 0 ? trainSeqLen : Math.min(context, DEFAULT_SEQ_LEN);
        if (s > context) {
            throw new IllegalArgumentException("sequence length " + s + " exceeds the model's context of " + context + " tokens");
        }
        return s;
    }

    /** Whether losing more than {@link io.tune4j.data.DataLoss#THRESHOLD} of the data stops the run before training. */
    public boolean strict() {
        return Boolean.TRUE.equals(strictData);
    }

    /** The same data settings read from another file (eval reads its file as this spec's validation data). */
    public DataSpec withFiles(String newTrain, String newValidation) {
        return new DataSpec(newTrain, newValidation, newValidation == null ? valSplit : null, template, format, textMode, kind,
                fields, labelMap, labelInstruction, seqLen, truncation, trainOnPrompt, keepDuplicates, skipBadRecords, packed,
                eosLoss, strictData);
    }

    /** The file format, or null: from the file extension. */
    public DataFormat dataFormat() {
        return format == null ? null : DataFormat.parse(format);
    }

    public TextMode mode() {
        return textMode(textMode);
    }

    public FieldMapping mapping() {
        return new FieldMapping(kind == null ? FieldMapping.Kind.AUTO : FieldMapping.Kind.parse(kind),
                fields.get("instruction"), fields.get("input"), fields.get("output"), fields.get("system"),
                fields.get("messages"), null, null, fields.get("prompt"), fields.get("completion"), fields.get("text"),
                fields.get("label"), labelMap, labelInstruction);
    }

    public PrepareOptions options(int seqLen, long seed) {
        return PrepareOptions.defaults(seqLen)
                .withValFraction(validation == null && valSplit != null ? valSplit : 0, seed)
                .withTruncation(truncation == null ? null : Truncation.parse(truncation))
                .withTrainOnPrompt(Boolean.TRUE.equals(trainOnPrompt))
                .withDeduplication(!Boolean.TRUE.equals(keepDuplicates), !Boolean.TRUE.equals(keepDuplicates))
                .withSkipBadRecords(Boolean.TRUE.equals(skipBadRecords))
                .withPacking(pack())
                .withTrainOnEos(!Boolean.FALSE.equals(eosLoss))
                .withFormat(format == null ? null : DataFormat.parse(format), textMode(textMode));
    }

    public DatasetPreparer.Spec prepareSpec(Path modelDir, Path tokenizerFile, int seqLen, long seed) {
        return new DatasetPreparer.Spec(modelDir, tokenizerFile, Path.of(train), validation == null ? null : Path.of(validation),
                mapping(), template,
                options(seqLen, seed));
    }

    static TextMode textMode(String s) {
        if (s == null) return TextMode.PARAGRAPHS;
        return switch (s) {
            case "paragraphs" -> TextMode.PARAGRAPHS;
            case "whole-file", "whole_file" -> TextMode.WHOLE_FILE;
            default -> throw new IllegalArgumentException("text mode must be paragraphs or whole-file, got '" + s + "'");
        };
    }
}
