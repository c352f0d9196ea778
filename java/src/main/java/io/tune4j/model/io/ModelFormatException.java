package io.tune4j.model.io;

import java.nio.file.Path;

/**
 * A model, config or tokenizer file that cannot be used. The message always starts with the
 * file's path and says what was wrong and what was expected.
 */
public class ModelFormatException extends RuntimeException {
    private final transient Path file;

    public ModelFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public ModelFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The file the problem is in. */
    public Path file() {
        return file;
    }
}
