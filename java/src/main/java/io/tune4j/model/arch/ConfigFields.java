package io.tune4j.model.arch;

import com.fasterxml.jackson.databind.JsonNode;
import io.tune4j.model.io.ModelFormatException;
import java.nio.file.Path;

/** Typed reads of one config.json object; every error names the file and the field. */
public final class ConfigFields {
    private final Path file;
    private final JsonNode node;

    public ConfigFields(Path file, JsonNode node) {
        this.file = file;
        this.node = node;
    }

    public Path file() {
        return file;
    }

    public JsonNode node() {
        return node;
    }

    public ModelFormatException error(String message) {
        return new ModelFormatException(file, message);
    }

    public boolean present(String f) {
        JsonNode n = node.get(f);
        return n != null && !n.isNull();
    }

    public int reqInt(String f) {
        if (!present(f)) throw error("missing field '" + f + "'");
        return asInt(node.get(f), f);
    }

    public int optInt(String f, int def) {
        return present(f) ? asInt(node.get(f), f) : def;
    }

    private int asInt(JsonNode n, String f) {
        if (!n.isNumber() || !n.canConvertToExactIntegral() || !n.canConvertToInt()) {
            throw error("field '" + f + "' must be an integer, got " + n);
        }
        return n.asInt();
    }

    public float optFloat(String f, float def) {
        if (!present(f)) return def;
        JsonNode n = node.get(f);
        if (!n.isNumber()) throw error("field '" + f + "' must be a number, got " + n);
        return (float) n.asDouble();
    }

    public boolean optBool(String f, boolean def) {
        if (!present(f)) return def;
        JsonNode n = node.get(f);
        if (!n.isBoolean()) throw error("field '" + f + "' must be true or false, got " + n);
        return n.asBoolean();
    }

    public String reqText(String f) {
        JsonNode n = node.get(f);
        if (n == null || !n.isTextual()) throw error("field '" + f + "' must be a string, got " + n);
        return n.asText();
    }

    /** An id field that is an integer, a list of integers, or null/absent. */
    public int[] ids(String f, int[] def) {
        if (!present(f)) return def;
        JsonNode n = node.get(f);
        if (n.isArray()) {
            int[] out = new int[n.size()];
            for (int i = 0; i < out.length; i++) out[i] = asInt(n.get(i), f);
            return out;
        }
        return new int[] {asInt(n, f)};
    }
}
