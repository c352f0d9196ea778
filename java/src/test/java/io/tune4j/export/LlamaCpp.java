package io.tune4j.export;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import java.nio.file.Path;

/**
 * The real llama.cpp (java-llama.cpp's bundled CPU build) over a GGUF file. Its log goes to the
 * test's stdout (the 4.2.0 binding's setLogger did not take it over here); a load failure's reason,
 * e.g. "check_tensor_dims: tensor ... has wrong shape", is there.
 */
final class LlamaCpp implements AutoCloseable {
    private final LlamaModel model;

    LlamaCpp(Path gguf) {
        this(gguf, null);
    }

    /** The model in gguf with, when lora is not null, that GGUF LoRA applied at scale 1. */
    LlamaCpp(Path gguf, Path lora) {
        try {
            ModelParameters p = new ModelParameters().setModel(gguf.toString()).setCtxSize(256).setThreads(2)
                    .setParallel(1).skipWarmup();
            if (lora != null) p.addLoraAdapter(lora.toString());
            model = new LlamaModel(p);
        } catch (RuntimeException e) {
            throw new AssertionError("llama.cpp did not load " + gguf + ": " + e + "\n" + log(), e);
        }
    }

    /** Where llama.cpp's reasons are, for failure messages. */
    static String log() {
        return "(llama.cpp's log is in the test's stdout)";
    }

    /** Greedy continuation (temperature 0, no penalties) of n tokens, as text. */
    String greedy(String prompt, int n) {
        InferenceParameters p = new InferenceParameters(prompt).setTemperature(0f).setNPredict(n).setRepeatPenalty(1f)
                .setTopK(1).setSeed(0).setCachePrompt(false);
        return model.complete(p);
    }

    /** Token ids llama.cpp's tokenizer gives text (BOS included when the file asks for it). */
    int[] encode(String text) {
        return model.encode(text);
    }

    @Override
    public void close() {
        model.close();
    }
}
