package io.tune4j.tokenizer;

import io.tune4j.model.io.ModelFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * llama2.c's tokenizer.bin format (int32 max_token_length, then per token: float32 score, int32
 * length, bytes) with its encoder: a dummy-prefix space, one token per UTF-8 code point (or
 * byte-fallback tokens {@code <0xXX>} at id 3 + byte when the code point is not in the
 * vocabulary), then repeated merging of the adjacent pair whose concatenation is the
 * best-scoring vocabulary entry (leftmost on ties). Ids 0, 1, 2 are unk, BOS and EOS.
 */
public final class Llama2cTokenizer implements Tokenizer {
    public static final int UNK = 0, BOS = 1, EOS = 2, BYTE_OFFSET = 3;

    private final Path path;
    private final String[] pieces;     // raw piece bytes as ISO-8859-1 strings (one char per byte)
    private final float[] scores;
    private final Map<String, Integer> ids;
    private final int[] eosIds;
    private final int spaceId;

    private Llama2cTokenizer(Path path, String[] pieces, float[] scores, int[] eosIds) {
        this.path = path;
        this.pieces = pieces;
        this.scores = scores;
        this.ids = new HashMap<>(pieces.length * 2);
        for (int i = 0; i < pieces.length; i++) ids.putIfAbsent(pieces[i], i);
        this.eosIds = eosIds;
        Integer sp = ids.get(" ");
        this.spaceId = sp == null ? -1 : sp;
    }

    public static Llama2cTokenizer load(Path file) {
        return load(file, new int[0]);
    }

    /** Loads tokenizer.bin; extraEosIds (e.g. from the model's config) are added to EOS id 2. */
    public static Llama2cTokenizer load(Path file, int[] extraEosIds) {
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "file not found");
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e, e);
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (data.length < 4) {
            throw new ModelFormatException(file, "file is " + data.length
                    + " bytes; expected a llama2.c tokenizer (int32 max_token_length, then score/length/bytes per token)");
        }
        int maxLen = b.getInt();
        if (maxLen <= 0 || maxLen > 4096) {
            throw new ModelFormatException(file, "max_token_length " + maxLen
                    + " is implausible; not a llama2.c tokenizer.bin?");
        }
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        while (b.hasRemaining()) {
            int id = pieces.size();
            if (b.remaining() < 8) {
                throw new ModelFormatException(file, "token " + id + ": record header cut short at byte " + b.position()
                        + " (file truncated?)");
            }
            float score = b.getFloat();
            int len = b.getInt();
            if (len < 0 || len > maxLen) {
                throw new ModelFormatException(file, "token " + id + ": length " + len + " outside [0, max_token_length "
                        + maxLen + "]; not a llama2.c tokenizer.bin?");
            }
            if (len > b.remaining()) {
                throw new ModelFormatException(file, "token " + id + ": needs " + len + " bytes but only " + b.remaining()
                        + " remain (file truncated?)");
            }
            byte[] piece = new byte[len];
            b.get(piece);
            pieces.add(new String(piece, StandardCharsets.ISO_8859_1));
            scores.add(score);
        }
        if (pieces.size() < BYTE_OFFSET + 256) {
            throw new ModelFormatException(file, "only " + pieces.size()
                    + " tokens; expected at least 259 (unk, BOS, EOS and 256 byte tokens)");
        }
        for (int byteVal = 0; byteVal < 256; byteVal++) {
            String expect = String.format("<0x%02X>", byteVal);
            if (!pieces.get(BYTE_OFFSET + byteVal).equals(expect)) {
                throw new ModelFormatException(file, "token " + (BYTE_OFFSET + byteVal) + " is '" + pieces.get(BYTE_OFFSET + byteVal)
                        + "', expected byte-fallback token " + expect);
            }
        }
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) s[i] = scores.get(i);
        // llama2.c models are trained on documents separated by BOS, and llama2.c's own sampler
        // ends a sequence on it: a BOS in the output means the story is over.
        int[] eos = mergeIds(new int[] {EOS, BOS}, extraEosIds);
        return new Llama2cTokenizer(file, pieces.toArray(new String[0]), s, eos);
    }

    static int[] mergeIds(int[] a, int[] b) {
        return java.util.stream.IntStream.concat(Arrays.stream(a), Arrays.stream(b == null ? new int[0] : b))
                .distinct().toArray();
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        // initial tokens: dummy prefix, then one per code point (or its bytes)
        int[] tok = new int[utf8.length + 1];
        int n = 0;
        if (utf8.length > 0) {
            if (spaceId < 0) throw new IllegalStateException(path + ": vocabulary has no ' ' token for the dummy prefix");
            tok[n++] = spaceId;
        }
        for (int i = 0; i < utf8.length; ) {
            int j = i + 1;
            while (j < utf8.length && (utf8[j] & 0xC0) == 0x80 && j - i < 4) j++;
            Integer id = ids.get(new String(utf8, i, j - i, StandardCharsets.ISO_8859_1));
            if (id != null) {
                tok[n++] = id;
            } else {
                for (int k = i; k < j; k++) tok[n++] = (utf8[k] & 0xFF) + BYTE_OFFSET;
            }
            i = j;
        }
        int[] merged = merge(tok, n);
        if (!addBos) return merged;
        int[] out = new int[merged.length + 1];
        out[0] = BOS;
        System.arraycopy(merged, 0, out, 1, merged.length);
        return out;
    }

    private record Candidate(float score, int left, int right, int leftVersion, int rightVersion, int id) {}

    /**
     * Merges best-scoring pairs until none is in the vocabulary. Equivalent to llama2.c's
     * rescan-per-merge loop (the highest score wins, the leftmost pair on ties) but O(n log n):
     * positions form a linked list and a heap holds candidate pairs, stale ones skipped.
     */
    private int[] merge(int[] tok, int n) {
        if (n < 2) return Arrays.copyOf(tok, n);
        int[] id = Arrays.copyOf(tok, n);
        int[] next = new int[n], prev = new int[n], version = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        PriorityQueue<Candidate> heap = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 0; i + 1 < n; i++) offer(heap, id, version, i, i + 1);
        while (!heap.isEmpty()) {
            Candidate c = heap.poll();
            if (dead[c.left] || dead[c.right] || next[c.left] != c.right
                    || version[c.left] != c.leftVersion || version[c.right] != c.rightVersion) continue;
            id[c.left] = c.id;
            version[c.left]++;
            dead[c.right] = true;
            int after = next[c.right];
            next[c.left] = after;
            if (after >= 0) prev[after] = c.left;
            if (prev[c.left] >= 0) offer(heap, id, version, prev[c.left], c.left);
            if (after >= 0) offer(heap, id, version, c.left, after);
        }
        int[] out = new int[n];
        int m = 0;
        for (int i = 0; i >= 0; i = next[i]) out[m++] = id[i];
        return Arrays.copyOf(out, m);
    }

    private void offer(PriorityQueue<Candidate> heap, int[] id, int[] version, int l, int r) {
        Integer merged = ids.get(pieces[id[l]] + pieces[id[r]]);
        if (merged != null) heap.add(new Candidate(scores[merged], l, r, version[l], version[r], merged));
    }

    @Override
    public String decode(int[] tokenIds) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int t : tokenIds) {
            if (t == UNK || t == BOS || t == EOS) continue;
            if (t < 0 || t >= pieces.length) throw new IllegalArgumentException(path + ": token id " + t
                    + " outside the vocabulary [0, " + pieces.length + ")");
            if (t >= BYTE_OFFSET && t < BYTE_OFFSET + 256) {
                out.write(t - BYTE_OFFSET);
            } else {
                String p = pieces[t];
                for (int i = 0; i < p.length(); i++) out.write(p.charAt(i));
            }
        }
        byte[] bytes = out.toByteArray();
        // like SentencePiece / HF's Strip decoder: the dummy-prefix space of the first piece is not text
        int start = bytes.length > 0 && bytes[0] == ' ' ? 1 : 0;
        return new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8);
    }

    /** The raw piece of a token, decoded as UTF-8 (byte tokens read "<0xXX>"). */
    public String piece(int id) {
        return new String(pieces[id].getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    public float score(int id) {
        return scores[id];
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bosId() {
        return BOS;
    }

    @Override
    public int[] eosIds() {
        return eosIds.clone();
    }

    @Override
    public String describe() {
        return path.getFileName() + " (llama2.c, " + pieces.length + " tokens)";
    }
}
