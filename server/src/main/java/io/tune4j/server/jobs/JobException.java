package io.tune4j.server.jobs;

/** A job request that cannot be honoured; each transport maps the kind to its own status. */
public final class JobException extends RuntimeException {
    /** FORBIDDEN: the request names something outside what it may reach (a path instead of a file id). */
    public enum Kind { INVALID, NOT_FOUND, CONFLICT, FORBIDDEN }

    public final Kind kind;
    /** The request field at fault, or null. */
    public final String param;

    public JobException(Kind kind, String param, String message) {
        super(message);
        this.kind = kind;
        this.param = param;
    }
}
