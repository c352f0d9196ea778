package io.tune4j.export;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The real llama.cpp (java-llama.cpp's bundled build) over a GGUF file, quiet unless it fails. */
final class LlamaCpp implements AutoCloseable {
    private static final List<String> LOG = new ArrayList<>();

    static {
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> {
            synchronized (LOG) {
                LOG.add(level + " " + msg.strip());
                if (LOG.size() > 400) LOG.remove(0);
            }
        });
    }

    private final LlamaModel model;

    LlamaCpp(Path gguf) {
        this(gguf, null);
    }

    /** The model in gguf with, when lora is not null, that GGUF LoRA applied at scale 1. */
    LlamaCpp(Path gguf, Path lora) {
        synchronized (LOG) {
            LOG.clear();
        }
        try {
            ModelParameters p = new ModelParameters().setModel(gguf.toString()).setCtxSize(256).setThreads(2)
                    .setParallel(1).skipWarmup();
            if (lora != null) p.addLoraAdapter(lora.toString());
            model = new LlamaModel(p);
        } catch (RuntimeException e) {
            throw new AssertionError("llama.cpp did not load " + gguf + ": " + e + "\n" + log(), e);
        }
    }

    /** llama.cpp's recent log lines, for failure messages. */
    static String log() {
        synchronized (LOG) {
            return String.join("\n", LOG.subList(Math.max(0, LOG.size() - 60), LOG.size()));
        }
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
