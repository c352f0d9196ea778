package io.tune4j.peft;

import io.tune4j.model.LlamaModel;
import java.nio.file.Path;

/** Loads a saved fine-tuning result of any kind onto a model for inference. */
public final class Adapters {
    private Adapters() {}

    /**
     * Reads dir/adapter_config.json and attaches what it describes, through the method that
     * recognises it ({@link Methods#recognise}): LoRA or prefix tuning in PEFT's layout, bottleneck
     * adapters in tune4j's format, or any other registered method. The returned method is in
     * inference mode with frozen weights; close it to detach.
     */
    public static FineTuneMethod load(Path dir, LlamaModel model) {
        return Methods.recognise(dir).method().load(dir, model);
    }

    /** Which method saved dir and what the server may do with it, without loading any weights. */
    public static Methods.Saved inspect(Path dir) {
        return Methods.recognise(dir);
    }
}
