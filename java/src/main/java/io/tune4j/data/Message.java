package io.tune4j.data;

/** One chat turn; role is system, user or assistant. */
public record Message(String role, String content) {
    public static final String SYSTEM = "system";
    public static final String USER = "user";
    public static final String ASSISTANT = "assistant";

    public boolean isAssistant() {
        return ASSISTANT.equals(role);
    }
}
