package io.tune4j.eval;

import io.tune4j.model.LlamaModel;
import io.tune4j.peft.FineTuneMethod;
import java.nio.file.Path;

/**
 * Puts a saved fine-tuning result (an adapter directory) onto a loaded model so that evaluation
 * measures the tuned model. Until the adapter loader lands, {@link #UNSUPPORTED} refuses.
 */
@FunctionalInterface
public interface AdapterAttacher {
    /** Attaches the adapter in dir and returns the method (its beforeForward runs before forwards). */
    FineTuneMethod attach(LlamaModel model, Path dir);

    AdapterAttacher UNSUPPORTED = (model, dir) -> {
        throw new IllegalArgumentException("--adapter " + dir + ": loading adapters is not yet supported");
    };
}
