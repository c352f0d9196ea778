package io.tune4j.data;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** One record as read from a file, before field mapping; line is where the record starts (1-based). */
public record RawRecord(String file, int line, ObjectNode fields) {
    public String where() {
        return file + ":" + line;
    }
}
