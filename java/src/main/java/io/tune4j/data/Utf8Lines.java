package io.tune4j.data;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * A file's bytes as lines of text, with the lines that are not valid UTF-8 marked: decoding is
 * strict (a malformed sequence is reported, never silently replaced), so a record holding one
 * can be rejected by line number. Line terminators (\n, \r\n) are removed.
 */
final class Utf8Lines {
    final List<String> lines;
    /** 0-based indices of lines holding malformed UTF-8; such lines hold U+FFFD in their place. */
    final BitSet invalid;

    private Utf8Lines(List<String> lines, BitSet invalid) {
        this.lines = lines;
        this.invalid = invalid;
    }

    static Utf8Lines decode(byte[] bytes) {
        int start = bytes.length >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB && (bytes[2] & 0xff) == 0xBF ? 3 : 0;
        BitSet invalid = new BitSet();
        try {
            // the common case: the whole file is valid, one decoder pass
            String all = strict().decode(ByteBuffer.wrap(bytes, start, bytes.length - start)).toString();
            return new Utf8Lines(split(all), invalid);
        } catch (CharacterCodingException e) {
            List<String> lines = new ArrayList<>();
            int from = start;
            for (int i = start; i <= bytes.length; i++) {
                if (i == bytes.length || bytes[i] == '\n') {
                    if (i == bytes.length && from == i) break;
                    int end = i > from && bytes[i - 1] == '\r' ? i - 1 : i;
                    try {
                        lines.add(strict().decode(ByteBuffer.wrap(bytes, from, end - from)).toString());
                    } catch (CharacterCodingException bad) {
                        invalid.set(lines.size());
                        lines.add(new String(bytes, from, end - from, StandardCharsets.UTF_8));
                    }
                    from = i + 1;
                }
            }
            return new Utf8Lines(lines, invalid);
        }
    }

    private static CharsetDecoder strict() {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
    }

    private static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                out.add(s.substring(from, i > from && s.charAt(i - 1) == '\r' ? i - 1 : i));
                from = i + 1;
            }
        }
        if (from < s.length()) out.add(s.substring(from));
        return out;
    }

    /** Whether any line in [firstLine, lastLine] (1-based, inclusive) is invalid. */
    boolean anyInvalid(int firstLine, int lastLine) {
        int next = invalid.nextSetBit(firstLine - 1);
        return next >= 0 && next <= lastLine - 1;
    }

    String joined() {
        return String.join("\n", lines);
    }
}
