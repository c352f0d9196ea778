package io.tune4j.server.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import io.tune4j.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Uploaded training files under {@code <data-dir>/files/}: {@code <id>.jsonl} holds the bytes and
 * {@code <id>.json} beside it the metadata, written last, so a file whose upload was cut short has no
 * metadata and does not exist. Files are named only by their id; a name that looks like a path is
 * refused, never opened. Blocking (disk): callers keep it off the event loops.
 */
public final class FileStore {
    private static final Pattern ID = Pattern.compile("file-[a-z0-9]{24}");
    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectReader ONE_VALUE = JSON.readerFor(JsonNode.class)
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    public static final String PURPOSE = "fine-tune";

    /** A stored file as GET /v1/files shows it. */
    public record StoredFile(String id, long bytes, long createdAt, String filename, String purpose, int records) {}

    private final Path dir;
    private final long maxBytes;
    private final SecureRandom random = new SecureRandom();

    /** @param dataDir the server's data directory (real path) */
    public FileStore(Path dataDir, long maxBytes) {
        this.dir = dataDir.resolve("files");
        this.maxBytes = maxBytes;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot create the file store: " + e.getMessage(), e);
        }
    }

    public long maxBytes() {
        return maxBytes;
    }

    /**
     * Checks that content is JSONL (UTF-8, one JSON object a line, blank lines allowed) and stores it.
     *
     * @param filename the client's name for it, kept only as a label
     */
    public StoredFile add(String filename, String purpose, byte[] content) {
        if (purpose == null || purpose.isBlank()) throw invalid("purpose", "purpose is required (use '" + PURPOSE + "')");
        if (!purpose.equals(PURPOSE)) {
            throw invalid("purpose", "purpose must be '" + PURPOSE + "', got '" + purpose + "'");
        }
        if (content.length > maxBytes) throw invalid("file", "the file has " + content.length + " bytes; the limit is " + maxBytes);
        int records = checkJsonl(content);
        String id = newId();
        StoredFile f = new StoredFile(id, content.length, System.currentTimeMillis() / 1000, label(filename), purpose, records);
        AtomicFiles.write(dataFile(id), content);
        try {
            AtomicFiles.write(metaFile(id), JSON.writeValueAsBytes(f));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return f;
    }

    public Optional<StoredFile> get(String id) {
        if (id == null || !ID.matcher(id).matches()) return Optional.empty();
        Path meta = metaFile(id);
        if (!Files.isRegularFile(meta) || !Files.isRegularFile(dataFile(id))) return Optional.empty();
        try {
            return Optional.of(JSON.readValue(meta.toFile(), StoredFile.class));
        } catch (IOException e) {
            throw new UncheckedIOException(meta + ": unreadable file metadata: " + e.getMessage(), e);
        }
    }

    /** Newest first. */
    public List<StoredFile> list() {
        List<StoredFile> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (name.endsWith(".json")) get(name.substring(0, name.length() - 5)).ifPresent(out::add);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list files: " + e.getMessage(), e);
        }
        out.sort(Comparator.comparingLong(StoredFile::createdAt).reversed().thenComparing(StoredFile::id));
        return out;
    }

    /** Deletes the file; false when there is none with this id. */
    public boolean delete(String id) {
        if (get(id).isEmpty()) return false;
        try {
            Files.deleteIfExists(metaFile(id)); // first: without metadata the file no longer exists
            Files.deleteIfExists(dataFile(id));
        } catch (IOException e) {
            throw new UncheckedIOException(dataFile(id) + ": cannot delete: " + e.getMessage(), e);
        }
        return true;
    }

    public byte[] content(String id) {
        try {
            return Files.readAllBytes(dataFile(id));
        } catch (IOException e) {
            throw new UncheckedIOException(dataFile(id) + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * The stored file a request names in {@code field}: anything that looks like a path is refused
     * (FORBIDDEN), anything else that is not a stored file's id is INVALID.
     */
    public StoredFile require(String field, String id) {
        if (id == null || id.isBlank()) throw invalid(field, field + " is required (a file id from POST /v1/files)");
        if (id.contains("/") || id.contains("\\") || id.contains("..") || id.startsWith("~") || id.indexOf('\0') >= 0
                || (id.length() > 1 && id.charAt(1) == ':')) {
            throw new JobException(JobException.Kind.FORBIDDEN, field, field + " must be a file id from POST /v1/files; "
                    + "paths are not accepted (uploads live under the server's data directory)");
        }
        return get(id).orElseThrow(() -> invalid(field, "no file with id '" + id + "' (upload it with POST /v1/files)"));
    }

    /** Where a stored file's bytes are: only ever derived from a checked id. */
    public Path path(StoredFile f) {
        return dataFile(f.id());
    }

    private Path dataFile(String id) {
        return dir.resolve(id + ".jsonl");
    }

    private Path metaFile(String id) {
        return dir.resolve(id + ".json");
    }

    private String newId() {
        StringBuilder b = new StringBuilder("file-");
        for (int i = 0; i < 24; i++) b.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        return b.toString();
    }

    /** The client's file name, reduced to a harmless label (no directories, no control characters). */
    static String label(String filename) {
        if (filename == null || filename.isBlank()) return "upload.jsonl";
        String base = filename.replace('\\', '/');
        base = base.substring(base.lastIndexOf('/') + 1).replaceAll("[\\p{Cntrl}]", "");
        if (base.isBlank() || base.equals("..") || base.equals(".")) return "upload.jsonl";
        return base.length() > 128 ? base.substring(0, 128) : base;
    }

    /** The number of records; throws naming the first line that is not a JSON object. */
    static int checkJsonl(byte[] content) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(content)).toString();
        } catch (CharacterCodingException e) {
            throw invalid("file", "the file is not UTF-8 text (JSONL expected: one JSON object a line)");
        }
        int records = 0;
        int line = 0;
        int start = 0;
        if (text.startsWith("\uFEFF")) start = 1;
        while (start <= text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) end = text.length();
            line++;
            String l = text.substring(start, end).strip();
            start = end + 1;
            if (l.isEmpty()) continue;
            JsonNode n;
            try {
                n = ONE_VALUE.readValue(l);
            } catch (JsonProcessingException e) {
                throw invalid("file", "line " + line + " is not valid JSON (JSONL expected: one JSON object a line): "
                        + firstLine(e.getOriginalMessage()));
            }
            if (!n.isObject()) {
                throw invalid("file", "line " + line + " is a JSON " + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT)
                        + ", not an object (JSONL expected: one JSON object a line)");
            }
            records++;
        }
        if (records == 0) throw invalid("file", "the file holds no records (JSONL expected: one JSON object a line)");
        return records;
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static JobException invalid(String field, String message) {
        return new JobException(JobException.Kind.INVALID, field, message);
    }
}
