package io.tune4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Maps raw records to {@link PreferencePair}s. Three layouts are recognised:
 * <ul>
 * <li>{@code {"prompt": "...", "chosen": "...", "rejected": "..."}} (optional "system"): an instruction
 *     with two responses;</li>
 * <li>{@code {"messages": [...], "chosen": "...", "rejected": "..."}}: a chat whose next assistant turn
 *     comes in two versions;</li>
 * <li>{@code {"chosen": [messages], "rejected": [messages]}} (TRL's conversational layout): two chats
 *     that agree up to a final assistant turn.</li>
 * </ul>
 */
public final class PreferenceRecords {
    private PreferenceRecords() {}

    /** Whether a record looks like a preference pair (so that eval can report preference accuracy). */
    public static boolean isPreference(RawRecord r) {
        return r.fields().has("chosen") && r.fields().has("rejected");
    }

    public static PreferencePair map(RawRecord r) {
        ObjectNode f = r.fields();
        JsonNode chosen = field(r, "chosen"), rejected = field(r, "rejected");
        if (chosen.isArray() && rejected.isArray()) return fromChats(r, messages(r, "chosen", chosen), messages(r, "rejected", rejected));
        String c = text(r, "chosen", chosen), rj = text(r, "rejected", rejected);
        if (f.has("messages")) {
            List<Message> prefix = messages(r, "messages", f.get("messages"));
            return new PreferencePair(r.where(), chat(r, prefix, c), chat(r, prefix, rj));
        }
        String prompt = text(r, "prompt", field(r, "prompt"));
        String system = f.hasNonNull("system") ? text(r, "system", f.get("system")) : "";
        return new PreferencePair(r.where(), new Example.Instruction(r.where(), system, prompt, "", c),
                new Example.Instruction(r.where(), system, prompt, "", rj));
    }

    private static Example.Chat chat(RawRecord r, List<Message> prefix, String response) {
        List<Message> m = new ArrayList<>(prefix);
        m.add(new Message(Message.ASSISTANT, response));
        return new Example.Chat(r.where(), m);
    }

    /** Two full conversations: they must differ only in their last turn, an assistant's. */
    private static PreferencePair fromChats(RawRecord r, List<Message> chosen, List<Message> rejected) {
        if (chosen.isEmpty() || rejected.isEmpty() || !chosen.get(chosen.size() - 1).isAssistant()
                || !rejected.get(rejected.size() - 1).isAssistant()) {
            throw new DataFormatException(r.file(), r.line(), "'chosen' and 'rejected' conversations must each end "
                    + "with an assistant turn");
        }
        if (!chosen.subList(0, chosen.size() - 1).equals(rejected.subList(0, rejected.size() - 1))) {
            throw new DataFormatException(r.file(), r.line(), "'chosen' and 'rejected' conversations must agree "
                    + "up to their final assistant turn");
        }
        return new PreferencePair(r.where(), new Example.Chat(r.where(), chosen), new Example.Chat(r.where(), rejected));
    }

    private static JsonNode field(RawRecord r, String name) {
        JsonNode v = r.fields().get(name);
        if (v == null || v.isNull()) {
            throw new DataFormatException(r.file(), r.line(), "field '" + name + "' missing (a preference record has "
                    + "prompt/chosen/rejected, messages/chosen/rejected, or chosen/rejected conversations)");
        }
        return v;
    }

    private static String text(RawRecord r, String name, JsonNode v) {
        if (!v.isTextual()) throw new DataFormatException(r.file(), r.line(), "field '" + name + "' must be a string");
        return v.asText();
    }

    private static List<Message> messages(RawRecord r, String name, JsonNode ms) {
        if (!ms.isArray()) throw new DataFormatException(r.file(), r.line(), "field '" + name + "' must be an array of messages");
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) {
            JsonNode m = ms.get(i);
            String where = name + "[" + i + "]";
            if (!m.isObject() || !m.path("role").isTextual() || !m.path("content").isTextual()) {
                throw new DataFormatException(r.file(), r.line(), "field '" + where + "' must be {role, content} strings");
            }
            String role = m.get("role").asText().toLowerCase(Locale.ROOT);
            if (!role.equals(Message.SYSTEM) && !role.equals(Message.USER) && !role.equals(Message.ASSISTANT)) {
                throw new DataFormatException(r.file(), r.line(), "field '" + where + ".role' is '" + role
                        + "' (expected system, user or assistant)");
            }
            out.add(new Message(role, m.get("content").asText()));
        }
        return out;
    }
}
