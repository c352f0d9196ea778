package io.tune4j.eval;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** The normalisation every text metric shares: trim, lowercase, collapse runs of whitespace. */
public final class TextNormalizer {
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");

    private TextNormalizer() {}

    public static String normalize(String s) {
        return WHITESPACE.matcher(s.strip().toLowerCase(Locale.ROOT)).replaceAll(" ");
    }

    /** Whitespace tokens of the normalised text (ROUGE-L and BLEU count these). */
    public static List<String> tokens(String s) {
        String n = normalize(s);
        return n.isEmpty() ? List.of() : List.of(n.split(" "));
    }
}
