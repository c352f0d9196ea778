package io.tune4j.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites the two pieces of Jinja2 (Python) expression syntax that Jinjava's parser gets wrong,
 * before the template is parsed, leaving everything else byte for byte:
 * <ul>
 * <li>slices {@code x[a:b:c]} (any part may be empty, as in {@code messages[::-1]}): Jinjava's
 * parser rejects a step ("encountered ':', expected ']'"), so every slice becomes the call
 * {@code x.__py_slice(a, b, c)}, which {@link PythonSlice} resolves with Python's rules;</li>
 * <li>keyword arguments {@code f(k=a|length - 1)}: Jinjava binds {@code k=} tighter than the
 * arithmetic after it, so each keyword argument's value is put in parentheses.</li>
 * </ul>
 * Only the insides of {@code {{ }}} and {@code {% %}} are touched, never string literals, comments,
 * raw blocks or macro signatures (whose defaults Jinjava parses itself).
 */
final class PythonSyntax {
    static final String SLICE_METHOD = "__py_slice";

    private PythonSyntax() {}

    static String rewrite(String source) {
        StringBuilder out = new StringBuilder(source.length() + 32);
        int i = 0;
        while (i < source.length()) {
            int open = nextTag(source, i);
            if (open < 0) {
                out.append(source, i, source.length());
                break;
            }
            out.append(source, i, open);
            char kind = source.charAt(open + 1);
            if (kind == '#') { // comments may hold anything, quotes included
                int end = source.indexOf("#}", open + 2);
                end = end < 0 ? source.length() : end + 2;
                out.append(source, open, end);
                i = end;
                continue;
            }
            int end = tagEnd(source, open + 2, kind == '{' ? "}}" : "%}");
            if (end < 0) { // unclosed: left as it is for Jinjava to report
                out.append(source, open, source.length());
                break;
            }
            int bodyStart = open + 2, bodyEnd = end - 2;
            String body = source.substring(bodyStart, bodyEnd);
            String word = firstWord(body);
            if (kind == '%' && word.equals("raw")) {
                int endraw = findEndRaw(source, end);
                out.append(source, open, endraw);
                i = endraw;
                continue;
            }
            out.append(source, open, bodyStart);
            out.append(kind == '%' && word.equals("macro") ? body : expression(body));
            out.append(source, bodyEnd, end);
            i = end;
        }
        return out.toString();
    }

    private static int nextTag(String s, int from) {
        for (int i = s.indexOf('{', from); i >= 0 && i + 1 < s.length(); i = s.indexOf('{', i + 1)) {
            char c = s.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    /** Index just past the closing delimiter (-1 if none); a delimiter inside a string literal does not close. */
    private static int tagEnd(String s, int from, String close) {
        int i = from;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i);
            } else if (s.startsWith(close, i)) {
                return i + 2;
            } else {
                i++;
            }
        }
        return -1;
    }

    private static int findEndRaw(String s, int from) {
        for (int i = s.indexOf("{%", from); i >= 0; i = s.indexOf("{%", i + 2)) {
            int end = tagEnd(s, i + 2, "%}");
            if (end < 0) break;
            if (firstWord(s.substring(i + 2, end - 2)).equals("endraw")) return end;
        }
        return s.length();
    }

    private static String firstWord(String body) {
        int i = 0;
        while (i < body.length() && (body.charAt(i) == '-' || body.charAt(i) == '+' || Character.isWhitespace(body.charAt(i)))) i++;
        int j = i;
        while (j < body.length() && Character.isJavaIdentifierPart(body.charAt(j))) j++;
        return body.substring(i, j);
    }

    /** Index just past the string literal opening at i (backslash escapes honoured). */
    private static int stringEnd(String s, int i) {
        char q = s.charAt(i);
        for (int j = i + 1; j < s.length(); j++) {
            char c = s.charAt(j);
            if (c == '\\') j++;
            else if (c == q) return j + 1;
        }
        return s.length();
    }

    /** Rewrites an expression, innermost brackets first. */
    static String expression(String e) {
        StringBuilder out = new StringBuilder(e.length() + 16);
        int i = 0;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                int end = stringEnd(e, i);
                out.append(e, i, end);
                i = end;
            } else if (c == '[' || c == '(' || c == '{') {
                int close = matching(e, i);
                if (close < 0) { // unbalanced: leave the rest for Jinjava to report
                    out.append(e, i, e.length());
                    break;
                }
                String inner = expression(e.substring(i + 1, close));
                String slice = c == '[' ? slice(inner) : null;
                if (slice != null) {
                    while (out.length() > 0 && Character.isWhitespace(out.charAt(out.length() - 1))) out.setLength(out.length() - 1);
                    out.append('.').append(slice);
                } else if (c == '[') out.append('[').append(inner).append(']');
                else if (c == '(') out.append('(').append(keywordArguments(inner)).append(')');
                else out.append('{').append(inner).append('}');
                i = close + 1;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    private static int matching(String e, int open) {
        int depth = 0;
        for (int i = open; i < e.length(); ) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(e, i);
                continue;
            }
            if (c == '[' || c == '(' || c == '{') depth++;
            else if ((c == ']' || c == ')' || c == '}') && --depth == 0) return i;
            i++;
        }
        return -1;
    }

    /** The parts of e between top-level occurrences of sep (outside brackets and strings). */
    private static List<String> split(String e, char sep) {
        List<String> parts = new ArrayList<>();
        int depth = 0, from = 0;
        for (int i = 0; i < e.length(); ) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(e, i);
                continue;
            }
            if (c == '[' || c == '(' || c == '{') depth++;
            else if (c == ']' || c == ')' || c == '}') depth--;
            else if (c == sep && depth == 0) {
                parts.add(e.substring(from, i));
                from = i + 1;
            }
            i++;
        }
        parts.add(e.substring(from));
        return parts;
    }

    // A top-level ':' in brackets can only be a slice: list literals hold none and dicts use braces.
    // Returns the method call standing for the slice, or null when inner is a plain index or list.
    private static String slice(String inner) {
        List<String> parts = split(inner, ':');
        if (parts.size() == 1 || parts.size() > 3) return null;
        StringBuilder call = new StringBuilder(SLICE_METHOD).append('(');
        for (int k = 0; k < 3; k++) {
            String p = k < parts.size() ? parts.get(k).strip() : "";
            call.append(k == 0 ? "" : ", ").append(p.isEmpty() ? "null" : p);
        }
        return call.append(')').toString();
    }

    // Inside parentheses a lone '=' only ever introduces a keyword argument
    private static String keywordArguments(String inner) {
        List<String> args = split(inner, ',');
        StringBuilder out = new StringBuilder(inner.length() + 8);
        for (int k = 0; k < args.size(); k++) {
            String a = args.get(k);
            int eq = keywordEquals(a);
            if (k > 0) out.append(',');
            if (eq < 0) {
                out.append(a);
            } else {
                String value = a.substring(eq + 1);
                int lead = 0;
                while (lead < value.length() && Character.isWhitespace(value.charAt(lead))) lead++;
                out.append(a, 0, eq + 1).append(value, 0, lead).append('(').append(value.substring(lead).stripTrailing())
                        .append(')').append(value.substring(value.stripTrailing().length()));
            }
        }
        return out.toString();
    }

    /** Index of the '=' in "name = value", or -1 when the argument is not a keyword argument. */
    private static int keywordEquals(String a) {
        int i = 0;
        while (i < a.length() && Character.isWhitespace(a.charAt(i))) i++;
        if (i == a.length() || !Character.isJavaIdentifierStart(a.charAt(i))) return -1;
        while (i < a.length() && Character.isJavaIdentifierPart(a.charAt(i))) i++;
        while (i < a.length() && Character.isWhitespace(a.charAt(i))) i++;
        if (i >= a.length() || a.charAt(i) != '=' || (i + 1 < a.length() && a.charAt(i + 1) == '=')) return -1;
        return a.substring(i + 1).isBlank() ? -1 : i;
    }
}
