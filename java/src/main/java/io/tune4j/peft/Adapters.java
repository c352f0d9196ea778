package io.tune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.io.ModelFormatException;
import java.nio.file.Path;

/** Loads a saved fine-tuning result of any kind onto a model for inference. */
public final class Adapters {
    private Adapters() {}

    /**
     * Reads dir/adapter_config.json and attaches what it describes: LoRA or prefix tuning in PEFT's
     * layout (as PEFT writes them), or bottleneck adapters in tune4j's format. The returned method is
     * in inference mode with frozen weights; close it to detach.
     */
    public static FineTuneMethod load(Path dir, LlamaModel model) {
        JsonNode c = PeftFiles.readConfig(dir);
        Path file = dir.resolve(PeftFiles.CONFIG);
        String type = PeftFiles.reqText(file, c, "peft_type");
        switch (type) {
            case "LORA": return LoraMethod.load(dir, model);
            case "PREFIX_TUNING": return PrefixMethod.load(dir, model);
            case AdapterMethod.PEFT_TYPE: return AdapterMethod.load(dir, model);
            default:
                throw new ModelFormatException(file, "peft_type '" + type + "' is not supported (expected LORA, "
                        + "PREFIX_TUNING or " + AdapterMethod.PEFT_TYPE + ")");
        }
    }
}
