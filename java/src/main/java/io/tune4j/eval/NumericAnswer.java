package io.tune4j.eval;

import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Extracts the final numeric answer of a GSM8K-style solution. */
public final class NumericAnswer {
    private static final Pattern NUMBER = Pattern.compile("-?(?:\\d[\\d,]*(?:\\.\\d+)?|\\.\\d+)");
    private static final String MARKER = "####";

    private NumericAnswer() {}

    /** The canonical numeral, or null when the text holds no number. */
    public static String extract(String text) {
        int marker = text.lastIndexOf(MARKER);
        if (marker >= 0) {
            Matcher m = NUMBER.matcher(text);
            if (m.find(marker + MARKER.length())) return canonical(m.group());
        }
        String last = null;
        Matcher m = NUMBER.matcher(text);
        while (m.find()) last = m.group();
        return last == null ? null : canonical(last);
    }

    /** "1,000.50" and "1000.5" are the same answer; so are "-0" and "0". */
    static String canonical(String numeral) {
        String plain = numeral.replace(",", "");
        try {
            BigDecimal d = new BigDecimal(plain).stripTrailingZeros();
            if (d.signum() == 0) return "0";
            return d.scale() < 0 ? d.setScale(0).toPlainString() : d.toPlainString();
        } catch (NumberFormatException e) {
            return plain;
        }
    }
}
