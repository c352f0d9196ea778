package io.tune4j.cli;

import io.tune4j.hub.HubException;
import io.tune4j.model.io.ModelFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;

/**
 * Turns exceptions into one line on stderr and an exit code: bad input (a missing or malformed
 * file, an invalid argument) exits 2; anything unexpected exits 1 with its stack trace.
 */
final class ErrorReporter implements CommandLine.IExecutionExceptionHandler {
    static final int BAD_INPUT = 2;
    static final int INTERNAL = 1;

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        Throwable t = ex;
        if (t instanceof UncheckedIOException && t.getCause() != null) t = t.getCause();
        if (isBadInput(t)) {
            System.err.println("tune4j: error: " + describe(t));
            return BAD_INPUT;
        }
        System.err.println("tune4j: internal error: " + t);
        t.printStackTrace(System.err);
        return INTERNAL;
    }

    static boolean isBadInput(Throwable t) {
        return t instanceof ModelFormatException || t instanceof HubException || t instanceof IllegalArgumentException
                || t instanceof IOException || t instanceof IndexOutOfBoundsException;
    }

    static String describe(Throwable t) {
        if (t instanceof NoSuchFileException e) return e.getFile() + ": no such file";
        if (t instanceof AccessDeniedException e) return e.getFile() + ": permission denied";
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }
}
