package io.tune4j.finetune;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.tune4j.data.DataFormat;
import io.tune4j.data.DatasetPreparer;
import io.tune4j.data.FieldMapping;
import io.tune4j.data.OverLong;
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
                       Integer seqLen, String overLong, Boolean trainOnPrompt, Boolean keepDuplicates,
                       Boolean skipBadRecords, Boolean packed, Boolean eosLoss) {

    public DataSpec {
        if (train == null) throw new IllegalArgumentException("data: 'train' (the training data file) is required");
        fields = fields == null ? Map.of() : Map.copyOf(fields);
        labelMap = labelMap == null ? Map.of() : Map.copyOf(labelMap);
        if (validation != null && valSplit != null && valSplit > 0) {
            throw new IllegalArgumentException("data: give either 'validation' or 'valSplit', not both");
        }
    }

    /** Whether short examples are packed into full sequences (kept apart by the attention mask). */
    public boolean pack() {
        return Boolean.TRUE.equals(packed);
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
                .withOverLong(overLong == null ? null : OverLong.parse(overLong))
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
