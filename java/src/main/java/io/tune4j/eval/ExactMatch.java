package io.tune4j.eval;

import java.util.Objects;

/** Exact match after normalisation, of the whole text or of the extracted numeric answer. */
public final class ExactMatch {
    private ExactMatch() {}

    public static boolean matches(String prediction, String reference, AnswerFormat format) {
        if (format == AnswerFormat.NUMBER) {
            String p = NumericAnswer.extract(prediction);
            return p != null && Objects.equals(p, NumericAnswer.extract(reference));
        }
        return TextNormalizer.normalize(prediction).equals(TextNormalizer.normalize(reference));
    }
}
