package io.tune4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 over everything a tokenised dataset depends on: input file bytes, tokenizer file bytes,
 * and the text of the mapping, template and options. Each part is length-prefixed and labelled so
 * that different inputs cannot produce the same byte stream.
 */
public final class CacheKey {
    /** Bumped whenever tokenisation or the on-disk format changes, so old caches are rebuilt. */
    static final String FORMAT = "tune4j-dataset-v1";

    private final MessageDigest sha;

    public CacheKey() {
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        text("format", FORMAT);
    }

    public CacheKey text(String label, String value) {
        byte[] b = (label + "=" + (value == null ? "<null>" : value)).getBytes(StandardCharsets.UTF_8);
        sha.update(longBytes(b.length));
        sha.update(b);
        return this;
    }

    /** The file's bytes, or a marker when it does not exist (so that creating it changes the key). */
    public CacheKey file(String label, Path file) {
        if (file == null || !Files.isRegularFile(file)) return text(label, "<absent>");
        text(label, "file");
        try (InputStream in = Files.newInputStream(file)) {
            sha.update(longBytes(Files.size(file)));
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
        return this;
    }

    public String hex() {
        return HexFormat.of().formatHex(sha.digest());
    }

    private static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) b[i] = (byte) (v >>> (56 - 8 * i));
        return b;
    }
}
