package io.tune4j.generate;

/** Receives each generated token as soon as it is chosen (streaming). */
@FunctionalInterface
public interface TokenListener {
    /**
     * @param tokenId the token chosen
     * @param textDelta the text this token completes; empty while a multi-byte character is
     *     still incomplete
     */
    void onToken(int tokenId, String textDelta);

    TokenListener NONE = (id, delta) -> {};
}
