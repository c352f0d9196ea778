package io.tune4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which fields of a record hold what. AUTO recognises the common layouts from the first record:
 * messages (chat), instruction/input/output (Alpaca), prompt/completion, question/answer (as
 * prompt/completion), a text column with a label column (classification), text. Null field names
 * take the layout's usual names. For label tasks labelMap turns label values into the response
 * words (e.g. 0 → negative); labelInstruction, when given, becomes the instruction and the text
 * its input.
 */
public record FieldMapping(Kind kind, String instructionField, String inputField, String outputField, String systemField,
                           String messagesField, String roleKey, String contentKey, String promptField,
                           String completionField, String textField, String labelField, Map<String, String> labelMap,
                           String labelInstruction) {

    public enum Kind {
        AUTO, ALPACA, CHAT, PROMPT_COMPLETION, TEXT, LABEL;

        public static Kind parse(String s) {
            String n = s.toLowerCase(Locale.ROOT).replace('_', '-');
            return switch (n) {
                case "auto" -> AUTO;
                case "alpaca", "instruction" -> ALPACA;
                case "chat", "messages" -> CHAT;
                case "prompt-completion", "completion" -> PROMPT_COMPLETION;
                case "text" -> TEXT;
                case "label", "classification" -> LABEL;
                default -> throw new IllegalArgumentException("unknown record kind '" + s
                        + "'; expected auto, alpaca, chat, prompt-completion, text or label");
            };
        }
    }

    /** The field of a multiple-choice prompt/completion record that lists its answers. */
    public static final String OPTIONS = "options";

    public FieldMapping {
        labelMap = labelMap == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(labelMap));
    }

    public static FieldMapping auto() {
        return new FieldMapping(Kind.AUTO, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    public static FieldMapping of(Kind kind) {
        return auto().withKind(kind);
    }

    public FieldMapping withKind(Kind k) {
        return new FieldMapping(k, instructionField, inputField, outputField, systemField, messagesField, roleKey,
                contentKey, promptField, completionField, textField, labelField, labelMap, labelInstruction);
    }

    public FieldMapping withLabels(String textField, String labelField, Map<String, String> labelMap, String labelInstruction) {
        return new FieldMapping(kind, instructionField, inputField, outputField, systemField, messagesField, roleKey,
                contentKey, promptField, completionField, textField, labelField, labelMap, labelInstruction);
    }

    /** Parses "0=negative,1=positive". */
    public static Map<String, String> parseLabelMap(String spec) {
        Map<String, String> m = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) return m;
        for (String part : spec.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("label map entry '" + part + "' is not VALUE=WORD (e.g. 0=negative,1=positive)");
            m.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
        }
        return m;
    }

    /** This mapping with the kind decided and every field name filled, looking at one record. */
    public FieldMapping resolve(RawRecord first) {
        Kind k = kind == Kind.AUTO ? detect(first) : kind;
        boolean has = first != null;
        String text = textField != null ? textField
                : k == Kind.LABEL && has && !first.fields().has("text") && first.fields().has("sentence") ? "sentence" : "text";
        boolean qa = k == Kind.PROMPT_COMPLETION && promptField == null && has && !first.fields().has("prompt")
                && first.fields().has("question");
        // evaluation files name the completion "reference"
        String completion = qa ? "answer" : has && !first.fields().has("completion") && first.fields().has("reference")
                ? "reference" : "completion";
        return new FieldMapping(k, or(instructionField, "instruction"), or(inputField, "input"), or(outputField, "output"),
                or(systemField, "system"), or(messagesField, "messages"), or(roleKey, "role"), or(contentKey, "content"),
                or(promptField, qa ? "question" : "prompt"), or(completionField, completion), text,
                or(labelField, "label"), labelMap, labelInstruction);
    }

    private static String or(String v, String dflt) {
        return v != null ? v : dflt;
    }

    private Kind detect(RawRecord r) {
        if (r == null) return Kind.TEXT;
        ObjectNode f = r.fields();
        if (f.has(or(messagesField, "messages"))) return Kind.CHAT;
        if (f.has(or(instructionField, "instruction")) && f.has(or(outputField, "output"))) return Kind.ALPACA;
        if (f.has(or(promptField, "prompt")) && (f.has(or(completionField, "completion")) || f.has("reference")
                || f.has(OPTIONS))) {
            return Kind.PROMPT_COMPLETION;
        }
        if (f.has("question") && f.has("answer")) return Kind.PROMPT_COMPLETION;
        if (f.has(or(labelField, "label")) && (textField != null ? f.has(textField) : f.has("sentence") || f.has("text"))) return Kind.LABEL;
        if (f.has(or(textField, "text"))) return Kind.TEXT;
        List<String> names = new ArrayList<>();
        f.fieldNames().forEachRemaining(names::add);
        throw new DataFormatException(r.file(), r.line(), "cannot tell the record layout from its fields " + names
                + " (expected messages, instruction/output, prompt/completion, question/answer, text+label or text; "
                + "name the layout and fields explicitly)");
    }

    /** Maps one record; a missing or mistyped field is a {@link DataFormatException} naming FILE:LINE. */
    public Example toExample(RawRecord r) {
        if (kind == Kind.AUTO) throw new IllegalStateException("resolve the mapping first");
        String origin = r.where();
        ObjectNode f = r.fields();
        return switch (kind) {
            case ALPACA -> new Example.Instruction(origin, optionalString(r, f, systemField),
                    requiredString(r, f, instructionField), optionalString(r, f, inputField), requiredString(r, f, outputField));
            case PROMPT_COMPLETION -> promptCompletion(r, f);
            case TEXT -> new Example.Text(origin, requiredString(r, f, textField));
            case LABEL -> label(r, f);
            case CHAT -> chat(r, f);
            case AUTO -> throw new IllegalStateException();
        };
    }

    /**
     * A prompt with its completion; with an "options" array it is multiple choice, the completion
     * being the option that "label" indexes when the completion field is absent.
     */
    private Example promptCompletion(RawRecord r, ObjectNode f) {
        String system = optionalString(r, f, systemField), prompt = requiredString(r, f, promptField);
        JsonNode opts = f.get(OPTIONS);
        if (opts == null || opts.isNull()) {
            return new Example.Instruction(r.where(), system, prompt, "", requiredString(r, f, completionField));
        }
        if (!opts.isArray() || opts.size() < 2) throw wrongType(r, OPTIONS, opts, "an array of at least 2 strings");
        List<String> options = new ArrayList<>();
        for (int i = 0; i < opts.size(); i++) {
            JsonNode o = opts.get(i);
            if (!o.isTextual()) throw wrongType(r, OPTIONS + "[" + i + "]", o, "a string");
            options.add(o.asText());
        }
        String answer;
        if (f.hasNonNull(completionField)) {
            answer = requiredString(r, f, completionField);
        } else {
            JsonNode l = f.get(labelField);
            if (l == null || l.isNull()) throw missing(r, completionField + "' or '" + labelField, "the answer, or its option index");
            if (!l.isIntegralNumber() || l.asInt() < 0 || l.asInt() >= options.size()) {
                throw wrongType(r, labelField, l, "an option index from 0 to " + (options.size() - 1));
            }
            answer = options.get(l.asInt());
        }
        if (!options.contains(answer)) {
            throw new FieldException(r.file(), r.line(), "field '" + completionField + "' is not one of the " + OPTIONS,
                    BadRecords.WRONG_TYPE);
        }
        return new Example.Instruction(r.where(), system, prompt, "", answer, options);
    }

    private Example label(RawRecord r, ObjectNode f) {
        String text = requiredString(r, f, textField);
        JsonNode l = f.get(labelField);
        if (l == null) throw missing(r, labelField, "a label");
        if (!(l.isTextual() || l.isNumber() || l.isBoolean())) throw wrongType(r, labelField, l, "a string or number");
        String value = l.asText().strip();
        String word = value;
        if (!labelMap.isEmpty()) {
            word = labelMap.get(value);
            if (word == null) {
                throw new DataFormatException(r.file(), r.line(), "field '" + labelField + "' has value '" + value
                        + "' which is not in the label map (expected one of " + String.join(", ", labelMap.keySet()) + ")");
            }
        }
        String system = optionalString(r, f, systemField);
        return labelInstruction != null && !labelInstruction.isBlank()
                ? new Example.Instruction(r.where(), system, labelInstruction, text, word)
                : new Example.Instruction(r.where(), system, text, "", word);
    }

    private Example chat(RawRecord r, ObjectNode f) {
        JsonNode ms = f.get(messagesField);
        if (ms == null) throw missing(r, messagesField, "an array of {" + roleKey + ", " + contentKey + "} objects");
        if (!ms.isArray()) throw wrongType(r, messagesField, ms, "an array of {" + roleKey + ", " + contentKey + "} objects");
        List<Message> out = new ArrayList<>();
        boolean assistant = false;
        for (int i = 0; i < ms.size(); i++) {
            JsonNode m = ms.get(i);
            String where = messagesField + "[" + i + "]";
            if (!m.isObject()) throw wrongType(r, where, m, "an object");
            String role = requiredString(r, (ObjectNode) m, roleKey, where + "." + roleKey);
            String content = requiredString(r, (ObjectNode) m, contentKey, where + "." + contentKey);
            role = role.toLowerCase(Locale.ROOT);
            if (!role.equals(Message.SYSTEM) && !role.equals(Message.USER) && !role.equals(Message.ASSISTANT)) {
                throw new DataFormatException(r.file(), r.line(), "field '" + where + "." + roleKey + "' is '" + role
                        + "' (expected system, user or assistant)");
            }
            assistant |= role.equals(Message.ASSISTANT);
            out.add(new Message(role, content));
        }
        if (!assistant) {
            throw new DataFormatException(r.file(), r.line(), "field '" + messagesField
                    + "' has no assistant turn (expected at least one message with role 'assistant')");
        }
        return new Example.Chat(r.where(), out);
    }

    private static String requiredString(RawRecord r, ObjectNode f, String field) {
        return requiredString(r, f, field, field);
    }

    private static String requiredString(RawRecord r, ObjectNode f, String field, String shownAs) {
        JsonNode v = f.get(field);
        if (v == null) throw missing(r, shownAs, "a string");
        if (!v.isTextual()) throw wrongType(r, shownAs, v, "a string");
        return v.asText();
    }

    private static String optionalString(RawRecord r, ObjectNode f, String field) {
        JsonNode v = f.get(field);
        if (v == null || v.isNull()) return "";
        if (!v.isTextual()) throw wrongType(r, field, v, "a string");
        return v.asText();
    }

    static DataFormatException missing(RawRecord r, String field, String expected) {
        return new FieldException(r.file(), r.line(), "field '" + field + "' missing (expected " + expected + ")", BadRecords.MISSING_FIELD);
    }

    static DataFormatException wrongType(RawRecord r, String field, JsonNode v, String expected) {
        String type = v.isNull() ? "null" : v.getNodeType().toString().toLowerCase(Locale.ROOT);
        return new FieldException(r.file(), r.line(), "field '" + field + "' is " + (v.isNull() ? "null" : "a " + type)
                + " (expected " + expected + ")", BadRecords.WRONG_TYPE);
    }

    /** A field problem that knows which {@link BadRecords} reason it counts under. */
    static final class FieldException extends DataFormatException {
        final String reason;

        FieldException(String file, int line, String problem, String reason) {
            super(file, line, problem);
            this.reason = reason;
        }
    }
}
