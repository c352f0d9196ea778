package io.tune4j.tokenizer;

import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.LlamaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Picks and loads the tokenizer of a model. */
public final class Tokenizers {
    private Tokenizers() {}

    /**
     * Loads {@code tokenizerFileOrNull} when given (tokenizer.json: {@link HfTokenizer}; a llama2.c
     * .bin: {@link Llama2cTokenizer}); otherwise looks beside the model: tokenizer.json, then
     * tokenizer.bin, then a single tok*.bin (llama2.c). EOS ids from the model's config.json and
     * generation_config.json are merged in when the model is a Hugging Face directory.
     */
    public static Tokenizer load(Path modelDirOrFile, Path tokenizerFileOrNull) {
        Path modelDir = modelDirOrFile == null ? null
                : Files.isDirectory(modelDirOrFile) ? modelDirOrFile : modelDirOrFile.toAbsolutePath().getParent();
        int[] extraEos = modelEos(modelDir);
        if (tokenizerFileOrNull != null) return loadFile(tokenizerFileOrNull, extraEos);
        if (modelDir == null) throw new IllegalArgumentException("neither a model nor a tokenizer file given");
        Path json = modelDir.resolve("tokenizer.json");
        if (Files.isRegularFile(json)) return HfTokenizer.load(json, extraEos);
        Path bin = modelDir.resolve("tokenizer.bin");
        if (Files.isRegularFile(bin)) return Llama2cTokenizer.load(bin, extraEos);
        try (Stream<Path> s = Files.list(modelDir)) {
            List<Path> toks = s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith("tok") && n.endsWith(".bin") && Files.isRegularFile(p);
            }).sorted().toList();
            if (toks.size() == 1) return Llama2cTokenizer.load(toks.get(0), extraEos);
        } catch (IOException e) {
            throw new ModelFormatException(modelDir, "cannot list directory: " + e, e);
        }
        String hint = Files.isRegularFile(modelDir.resolve("tokenizer.model"))
                ? " (tokenizer.model, SentencePiece, is not supported: provide tokenizer.json)" : "";
        throw new ModelFormatException(modelDir, "no tokenizer found: expected tokenizer.json, tokenizer.bin or a single "
                + "tok*.bin (llama2.c)" + hint + "; pass the tokenizer file explicitly");
    }

    private static Tokenizer loadFile(Path file, int[] extraEos) {
        if (!Files.exists(file)) throw new ModelFormatException(file, "file not found");
        if (Files.isDirectory(file)) return load(file, null);
        String n = file.getFileName().toString();
        if (n.endsWith(".json")) return HfTokenizer.load(file, extraEos);
        if (n.endsWith(".bin")) return Llama2cTokenizer.load(file, extraEos);
        if (n.endsWith(".model")) {
            throw new ModelFormatException(file, "SentencePiece .model files are not supported; expected tokenizer.json "
                    + "(Hugging Face) or tokenizer.bin (llama2.c)");
        }
        throw new ModelFormatException(file, "unknown tokenizer format; expected tokenizer.json (Hugging Face) or a "
                + "llama2.c .bin");
    }

    private static int[] modelEos(Path modelDir) {
        if (modelDir == null || !Files.isRegularFile(modelDir.resolve(LlamaConfigReader.CONFIG))) return new int[0];
        LlamaConfig c = LlamaConfigReader.read(modelDir);
        return c.eosTokenIds();
    }
}
