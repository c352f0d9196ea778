package io.tune4j.data;

import java.util.ArrayList;
import java.util.List;

/**
 * A record after field mapping, before templating: an instruction with optional input and a
 * response (Alpaca, prompt/completion, label tasks), a chat, or plain text. origin is FILE:LINE.
 */
public sealed interface Example {
    String origin();

    /** Every text field in a fixed order, separated so that fields cannot run into each other. */
    String contentKey();

    /** Whether a field the template needs is empty or blank. */
    boolean hasEmptyField();

    /** As a conversation: system (when given), user, assistant. */
    List<Message> messages();

    /** options: for a multiple-choice record, the answers to choose from (output is the right one); else empty. */
    record Instruction(String origin, String system, String instruction, String input, String output, List<String> options)
            implements Example {
        public Instruction {
            options = options == null ? List.of() : List.copyOf(options);
        }

        public Instruction(String origin, String system, String instruction, String input, String output) {
            this(origin, system, instruction, input, output, List.of());
        }

        /** The user's turn when a template has no separate input slot. */
        public String userText() {
            return input.isEmpty() ? instruction : instruction + "\n\n" + input;
        }

        @Override
        public String contentKey() {
            return "I\u0000" + system + "\u0000" + instruction + "\u0000" + input + "\u0000" + output;
        }

        @Override
        public boolean hasEmptyField() {
            return instruction.isBlank() || output.isBlank();
        }

        @Override
        public List<Message> messages() {
            List<Message> m = new ArrayList<>(3);
            if (!system.isEmpty()) m.add(new Message(Message.SYSTEM, system));
            m.add(new Message(Message.USER, userText()));
            m.add(new Message(Message.ASSISTANT, output));
            return m;
        }
    }

    record Chat(String origin, List<Message> messages) implements Example {
        public Chat {
            messages = List.copyOf(messages);
        }

        @Override
        public String contentKey() {
            StringBuilder sb = new StringBuilder("C");
            for (Message m : messages) sb.append('\u0000').append(m.role()).append('\u0001').append(m.content());
            return sb.toString();
        }

        @Override
        public boolean hasEmptyField() {
            for (Message m : messages) if (!Message.SYSTEM.equals(m.role()) && m.content().isBlank()) return true;
            return false;
        }
    }

    record Text(String origin, String text) implements Example {
        @Override
        public String contentKey() {
            return "T\u0000" + text;
        }

        @Override
        public boolean hasEmptyField() {
            return text.isBlank();
        }

        @Override
        public List<Message> messages() {
            return List.of(new Message(Message.ASSISTANT, text));
        }
    }
}
