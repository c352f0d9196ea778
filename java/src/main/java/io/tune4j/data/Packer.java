package io.tune4j.data;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;

/**
 * Packs examples into rows of at most seqLen tokens, best fit, longest first: each example goes to
 * the open row with the least room that still holds it. Deterministic for a given input order;
 * examples keep their input order within a row.
 */
public final class Packer {
    private Packer() {}

    public static List<PackedRow> pack(List<TokenizedExample> examples, int seqLen) {
        Integer[] order = new Integer[examples.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
            if (examples.get(i).length() > seqLen) {
                throw new IllegalArgumentException("example " + i + " has " + examples.get(i).length()
                        + " tokens, more than the sequence length " + seqLen + "; truncate or drop over-long examples first");
            }
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> -examples.get(i).length()).thenComparingInt(i -> i));
        List<List<Integer>> rows = new ArrayList<>();
        int[] used = new int[0];
        TreeMap<Integer, ArrayDeque<Integer>> byRoom = new TreeMap<>(); // room left -> rows with that much room
        for (int i : order) {
            int len = examples.get(i).length();
            var e = byRoom.ceilingEntry(len);
            int row;
            if (e == null) {
                row = rows.size();
                rows.add(new ArrayList<>());
                if (row == used.length) used = Arrays.copyOf(used, Math.max(16, used.length * 2));
            } else {
                row = e.getValue().pollFirst();
                if (e.getValue().isEmpty()) byRoom.remove(e.getKey());
            }
            rows.get(row).add(i);
            used[row] += len;
            int room = seqLen - used[row];
            if (room > 0) byRoom.computeIfAbsent(room, k -> new ArrayDeque<>()).addLast(row);
        }
        List<PackedRow> out = new ArrayList<>(rows.size());
        for (int r = 0; r < rows.size(); r++) {
            List<Integer> members = rows.get(r);
            members.sort(null);
            int[] ids = new int[used[r]], labels = new int[used[r]], starts = new int[members.size()];
            int at = 0;
            for (int k = 0; k < members.size(); k++) {
                TokenizedExample x = examples.get(members.get(k));
                starts[k] = at;
                System.arraycopy(x.ids(), 0, ids, at, x.length());
                System.arraycopy(x.labels(), 0, labels, at, x.length());
                at += x.length();
            }
            out.add(new PackedRow(ids, labels, starts));
        }
        return out;
    }

    /** Share of the rows' seqLen slots holding real tokens. */
    public static double fill(List<PackedRow> rows, int seqLen) {
        if (rows.isEmpty()) return 0;
        long t = 0;
        for (PackedRow r : rows) t += r.length();
        return (double) t / ((long) rows.size() * seqLen);
    }
}
