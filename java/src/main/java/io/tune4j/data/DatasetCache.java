package io.tune4j.data;

import io.tune4j.io.AtomicFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A prepared dataset on disk: train.bin and validation.bin (tokenised examples), report.json and
 * summary.txt, valid for one {@link CacheKey}. Every file is written to a temporary file, fsynced
 * and renamed into place; the key is stored inside each .bin, so a directory left half-updated by
 * a crash reads as a miss, never as a mix of two datasets.
 *
 * <p>.bin layout (little endian int32): magic "T4JD", version, key length, key bytes (padded to 4),
 * example count, the count lengths, then all ids, then all labels; one bulk read loads it.
 */
public final class DatasetCache {
    public static final String TRAIN = "train.bin";
    public static final String VALIDATION = "validation.bin";
    public static final String REPORT = "report.json";
    public static final String SUMMARY = "summary.txt";

    private static final int MAGIC = 0x444A3454; // "T4JD" read as little-endian int
    private static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;

    public DatasetCache(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** The dataset stored under key, or empty when absent, stale or unreadable. */
    public Optional<PreparedDataset> load(String key) {
        Path report = dir.resolve(REPORT);
        if (!Files.isRegularFile(dir.resolve(TRAIN)) || !Files.isRegularFile(dir.resolve(VALIDATION))
                || !Files.isRegularFile(report)) {
            return Optional.empty();
        }
        try {
            List<TokenizedExample> train = readExamples(dir.resolve(TRAIN), key);
            List<TokenizedExample> val = readExamples(dir.resolve(VALIDATION), key);
            if (train == null || val == null) return Optional.empty();
            DataReport r = JSON.readValue(report.toFile(), DataReport.class);
            return Optional.of(new PreparedDataset(train, val, r));
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // a damaged cache is rebuilt, not reported
        }
    }

    public void store(String key, PreparedDataset d) {
        try {
            Files.createDirectories(dir);
            writeAtomically(dir.resolve(TRAIN), encode(key, d.train()));
            writeAtomically(dir.resolve(VALIDATION), encode(key, d.validation()));
            writeAtomically(dir.resolve(REPORT), JSON.writeValueAsBytes(d.report()));
            writeAtomically(dir.resolve(SUMMARY), d.report().summary().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write the prepared dataset: " + e.getMessage(), e);
        }
    }

    /** Reads a .bin written for key; null when it was written for another key. */
    public static List<TokenizedExample> readExamples(Path file, String key) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (buf.remaining() < 12 || buf.getInt() != MAGIC) throw new IOException(file + ": not a tune4j dataset file");
        if (buf.getInt() != VERSION) return null;
        int keyLen = buf.getInt();
        byte[] k = new byte[keyLen];
        buf.get(k);
        buf.position(buf.position() + pad4(keyLen));
        if (key != null && !key.equals(new String(k, StandardCharsets.US_ASCII))) return null;
        int count = buf.getInt();
        IntBuffer ints = buf.asIntBuffer();
        int[] lengths = new int[count];
        ints.get(lengths);
        long total = 0;
        for (int l : lengths) total += l;
        int[] ids = new int[Math.toIntExact(total)], labels = new int[ids.length];
        ints.get(ids);
        ints.get(labels);
        List<TokenizedExample> out = new ArrayList<>(count);
        int at = 0;
        for (int l : lengths) {
            out.add(new TokenizedExample(java.util.Arrays.copyOfRange(ids, at, at + l), java.util.Arrays.copyOfRange(labels, at, at + l)));
            at += l;
        }
        return out;
    }

    static byte[] encode(String key, List<TokenizedExample> xs) {
        byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        long total = 0;
        for (TokenizedExample x : xs) total += x.length();
        long bytes = 16L + k.length + pad4(k.length) + 4L * xs.size() + 8L * total;
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(MAGIC).putInt(VERSION).putInt(k.length).put(k);
        buf.position(buf.position() + pad4(k.length));
        buf.putInt(xs.size());
        IntBuffer ints = buf.asIntBuffer();
        for (TokenizedExample x : xs) ints.put(x.length());
        for (TokenizedExample x : xs) ints.put(x.ids());
        for (TokenizedExample x : xs) ints.put(x.labels());
        return buf.array();
    }

    private static int pad4(int n) {
        return (4 - n % 4) % 4;
    }

    /** Temp file in the same directory, fsync, atomic rename: readers see the old file or the new one. */
    public static void writeAtomically(Path target, byte[] content) throws IOException {
        try {
            AtomicFiles.write(target, content);
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
