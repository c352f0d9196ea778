package io.tune4j.hub;

/**
 * A failure to resolve or download a model whose message is meant for the user as is: it names the
 * repository, what went wrong and, where there is one, what to do about it.
 */
public class HubException extends RuntimeException {

    /** Lets callers (the CLI, tests) react to a kind of failure without parsing the message. */
    public enum Reason {
        /** The spec is neither a local path nor owner/name[@revision]. */
        INVALID_SPEC,
        /** The hub could not be reached at all (DNS, refused connection, connect timeout). */
        UNREACHABLE,
        /** HTTP 401/403: private or gated repository, missing or rejected token. */
        ACCESS_DENIED,
        /** HTTP 404: repository, revision or file does not exist. */
        NOT_FOUND,
        /** HF_HUB_OFFLINE is set and the cache does not have the model. */
        NOT_IN_CACHE,
        /** Downloaded content does not match the size or sha256 the hub announced. */
        INTEGRITY,
        /** A transfer kept failing after retries; what was received is kept for the next run. */
        TRANSFER,
        /** Anything else: unexpected responses, unusable repositories, local I/O errors. */
        OTHER
    }

    private final Reason reason;

    public HubException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public HubException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
