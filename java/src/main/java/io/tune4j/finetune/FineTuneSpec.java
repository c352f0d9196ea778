package io.tune4j.finetune;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.tune4j.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Everything that defines a fine-tuning run: model, data, method, training hyper-parameters and
 * evaluation. Saved as run.yaml in the output directory; `tune4j finetune --config run.yaml`
 * reproduces the run.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FineTuneSpec(String model, String tokenizer, DataSpec data, MethodSpec method, TrainConfig train,
                           EvalSpec eval, String out) {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES))
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .findAndRegisterModules();

    public FineTuneSpec {
        if (model == null || model.isBlank()) throw new IllegalArgumentException("'model' is required");
        if (data == null) throw new IllegalArgumentException("'data' is required");
        if (out == null || out.isBlank()) throw new IllegalArgumentException("'out' (the output directory) is required");
        method = method == null ? MethodSpec.of("lora") : method;
        train = train == null ? TrainConfig.builder().build() : train;
        eval = eval == null ? EvalSpec.defaults() : eval;
    }

    public FineTuneSpec withOut(String newOut) {
        return new FineTuneSpec(model, tokenizer, data, method, train, eval, newOut);
    }

    /** Reads a YAML or JSON run file; errors name the file, line and field. */
    public static FineTuneSpec load(Path file) {
        try {
            return YAML.readValue(Files.readString(file), FineTuneSpec.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            var loc = e.getLocation();
            String where = loc == null ? "" : ":" + loc.getLineNr() + ":" + loc.getColumnNr();
            throw new IllegalArgumentException(file + where + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    public String toYaml() {
        try {
            return YAML.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
