package io.tune4j.data;

/**
 * A record or file that cannot be used, reported as "FILE:LINE: what is wrong (what was
 * expected)". An IllegalArgumentException so that the CLI reports it as bad input (exit code 2).
 */
public class DataFormatException extends IllegalArgumentException {
    private final String file;
    private final int line;
    private final String problem;

    public DataFormatException(String file, int line, String problem) {
        super(file + (line > 0 ? ":" + line : "") + ": " + problem);
        this.file = file;
        this.line = line;
        this.problem = problem;
    }

    public String file() {
        return file;
    }

    /** 1-based line where the record starts; 0 when the problem concerns the whole file. */
    public int line() {
        return line;
    }

    /** The message without the FILE:LINE prefix. */
    public String problem() {
        return problem;
    }
}
