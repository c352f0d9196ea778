package io.tune4j.bench;

import java.util.ArrayList;
import java.util.List;

/** A markdown table, padded so that it also reads as plain text on the console. */
public final class MarkdownTable {
    private MarkdownTable() {}

    public static String render(String[] header, List<String[]> rows) {
        int[] width = new int[header.length];
        List<String[]> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        for (String[] r : all) for (int i = 0; i < r.length; i++) width[i] = Math.max(width[i], r[i].length());
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < all.size(); k++) {
            appendRow(sb, all.get(k), width);
            if (k == 0) {
                String[] rule = new String[header.length];
                for (int i = 0; i < rule.length; i++) rule[i] = "-".repeat(width[i]);
                appendRow(sb, rule, width);
            }
        }
        return sb.toString();
    }

    private static void appendRow(StringBuilder sb, String[] cells, int[] width) {
        sb.append('|');
        for (int i = 0; i < cells.length; i++) {
            sb.append(' ').append(cells[i]).append(" ".repeat(width[i] - cells[i].length())).append(" |");
        }
        sb.append('\n');
    }
}
