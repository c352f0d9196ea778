package io.tune4j.model.arch;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** The architectures tune4j loads, by model_type or by config.json's architectures[] class name. */
public final class Architectures {
    private static final List<Architecture> ALL = List.of(new LlamaArchitecture(), new MistralArchitecture(),
            new Qwen2Architecture(), new Qwen3Architecture(), GemmaArchitecture.gemma2(), GemmaArchitecture.gemma3(),
            new Phi3Architecture());

    private Architectures() {}

    public static List<Architecture> all() {
        return ALL;
    }

    public static Optional<Architecture> byModelType(String modelType) {
        return ALL.stream().filter(a -> a.modelType().equals(modelType)).findFirst();
    }

    public static Optional<Architecture> byClass(String hfClass) {
        return ALL.stream().filter(a -> a.hfClass().equals(hfClass)).findFirst();
    }

    /** The family of a model's features. */
    public static Architecture of(ArchFeatures f) {
        return byModelType(f.modelType()).orElseThrow(() -> new IllegalStateException("no architecture " + f.modelType()));
    }

    /** "llama, mistral, qwen2, qwen3, gemma2, gemma3_text, phi3": for the one-line refusal of anything else. */
    public static String supported() {
        return ALL.stream().map(Architecture::modelType).collect(Collectors.joining(", "));
    }
}
