package io.tune4j.data;

import java.util.Locale;
import java.util.regex.Pattern;

/** The key near-duplicates share: lower case, punctuation removed, whitespace runs collapsed to one space. */
public final class TextNormalizer {
    private static final Pattern PUNCT = Pattern.compile("\\p{P}+");
    private static final Pattern SPACE = Pattern.compile("\\s+");

    private TextNormalizer() {}

    public static String normalize(String s) {
        String t = PUNCT.matcher(s.toLowerCase(Locale.ROOT)).replaceAll("");
        return SPACE.matcher(t).replaceAll(" ").strip();
    }
}
