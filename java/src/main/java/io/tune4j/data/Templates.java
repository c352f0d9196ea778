package io.tune4j.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The prompt templates by name: alpaca, chatml, llama2, model (the tokenizer's chat_template), none. */
public final class Templates {
    public static final List<String> NAMES = List.of("alpaca", "chatml", "llama2", "model", "none");

    private Templates() {}

    /** modelDir is needed only for "model". */
    public static PromptTemplate byName(String name, Path modelDir) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "alpaca" -> new AlpacaTemplate();
            case "chatml" -> new ChatMlTemplate();
            case "llama2", "llama-2" -> new Llama2Template();
            case "none", "raw" -> new RawTemplate();
            case "model", "chat_template" -> {
                if (modelDir == null) throw new IllegalArgumentException("the 'model' template needs the model directory");
                yield JinjaChatTemplate.fromModel(modelDir);
            }
            default -> throw new IllegalArgumentException("unknown template '" + name + "'; expected one of "
                    + String.join(", ", NAMES));
        };
    }

    /**
     * The template used when none is named: none for plain text, the model's chat_template for
     * chats when it has one (chatml otherwise), alpaca for instruction-style records.
     */
    public static String defaultFor(FieldMapping.Kind kind, Path modelDir) {
        return switch (kind) {
            case TEXT -> "none";
            case CHAT -> modelDir != null && hasChatTemplate(modelDir) ? "model" : "chatml";
            default -> "alpaca";
        };
    }

    static boolean hasChatTemplate(Path modelDir) {
        Path dir = Files.isDirectory(modelDir) ? modelDir : modelDir.toAbsolutePath().getParent();
        if (dir == null) return false;
        try {
            JinjaChatTemplate.fromModel(dir);
            return true;
        } catch (DataFormatException e) {
            return false;
        }
    }
}
