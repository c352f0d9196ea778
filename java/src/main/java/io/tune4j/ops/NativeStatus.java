package io.tune4j.ops;

/** Turns the negative status codes of native ops into Java exceptions. */
public final class NativeStatus {
    private NativeStatus() {}

    /**
     * {@link #check(int, String)} with the message joined only on failure: ops run hundreds of times a
     * decoding step, and formatting their messages eagerly cost more than some of the ops.
     */
    public static int check(int status, String before, Object detail, String after) {
        return status >= 0 ? status : check(status, before + detail + after);
    }

    public static int check(int status, String what) {
        if (status >= 0) return status;
        throw exception(status, what);
    }

    /** The exception a negative status stands for. */
    public static RuntimeException exception(int status, String what) {
        switch (status) {
            case -1: return new IllegalArgumentException(what + " (invalid argument)");
            case -2: return new IndexOutOfBoundsException(what);
            case -3: return new java.io.UncheckedIOException(new java.io.IOException(what));
            case -4: throw new OutOfMemoryError(what + " (native scratch memory could not be allocated)");
            default: return new IllegalStateException(what + " (native status " + status + ")");
        }
    }
}
