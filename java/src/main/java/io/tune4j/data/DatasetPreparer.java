package io.tune4j.data;

import io.tune4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Prepares a dataset once and keeps it in a {@link DatasetCache}: the cache key covers the input
 * files, the tokenizer files of the model, the mapping, the template and the options, so changing
 * any of them rebuilds and leaving them alone loads the tokenised examples from disk.
 */
public final class DatasetPreparer {
    private DatasetPreparer() {}

    public record Result(PreparedDataset dataset, boolean cacheHit, String key) {}

    /** Everything one preparation depends on. template null: chosen from the record kind. */
    public record Spec(Path modelDir, Path tokenizerFile, Path trainFile, Path validationFile, FieldMapping mapping,
                       String template, PrepareOptions options) {}

    public static String key(Spec s) {
        CacheKey k = new CacheKey()
                .file("train", s.trainFile())
                .file("validation", s.validationFile())
                .text("mapping", s.mapping().toString())
                .text("template", s.template())
                .text("options", s.options().toString())
                .file("tokenizerFile", s.tokenizerFile());
        for (Path f : tokenizerFiles(s.modelDir())) k.file("model:" + f.getFileName(), f);
        return k.hex();
    }

    /** Files beside a model that decide how text becomes ids (and which ids are special). */
    static List<Path> tokenizerFiles(Path model) {
        if (model == null) return List.of();
        Path dir = Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                return n.equals("tokenizer.json") || n.equals("tokenizer_config.json") || n.equals("config.json")
                        || n.equals("generation_config.json") || n.equals("special_tokens_map.json")
                        || n.equals("chat_template.jinja") || (n.startsWith("tok") && n.endsWith(".bin"));
            }).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }

    public static Result prepare(Spec spec, Tokenizer tokenizer, DatasetCache cache) {
        String key = key(spec);
        var hit = cache.load(key);
        if (hit.isPresent()) return new Result(hit.get(), true, key);
        PromptTemplate tpl = spec.template() == null ? null : Templates.byName(spec.template(), spec.modelDir());
        PreparedDataset d = new Preprocessor(tokenizer, spec.mapping(), tpl, spec.modelDir(), spec.options())
                .prepare(spec.trainFile(), spec.validationFile());
        cache.store(key, d);
        return new Result(d, false, key);
    }
}
