package io.tune4j.server.jobs;

/** A job request that cannot be honoured; each transport maps the kind to its own status. */
public final class JobException extends RuntimeException {
    public enum Kind { INVALID, NOT_FOUND, CONFLICT }

    public final Kind kind;
    /** The request field at fault, or null. */
    public final String param;

    public JobException(Kind kind, String param, String message) {
        super(message);
        this.kind = kind;
        this.param = param;
    }
}
