package io.tune4j.server;

import io.tune4j.data.JinjaChatTemplate;
import io.tune4j.data.Message;
import io.tune4j.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Turns chat messages into prompt ids: the model's own chat_template (tokenizer_config.json or
 * chat_template.jinja) when it has one, else ChatML.
 */
final class ChatPrompt {
    static final String CHATML_END = "<|im_end|>";

    private final JinjaChatTemplate template; // null: ChatML

    private ChatPrompt(JinjaChatTemplate template) {
        this.template = template;
    }

    static ChatPrompt forModel(Path modelPath) {
        Path dir = modelPath == null ? null : Files.isDirectory(modelPath) ? modelPath : modelPath.toAbsolutePath().getParent();
        if (dir != null) {
            try {
                return new ChatPrompt(JinjaChatTemplate.fromModel(dir));
            } catch (io.tune4j.data.DataFormatException e) {
                // no chat_template: fall through to ChatML
            }
        }
        return new ChatPrompt(null);
    }

    boolean isChatMl() {
        return template == null;
    }

    String name() {
        return template == null ? "chatml" : "model chat_template";
    }

    String render(List<Message> messages) {
        if (template != null) return template.render(messages, true, "request");
        StringBuilder b = new StringBuilder();
        for (Message m : messages) b.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append(CHATML_END).append('\n');
        return b.append("<|im_start|>assistant\n").toString();
    }

    /** Rendered text to ids; BOS is added unless the template already wrote it. */
    static int[] encode(Tokenizer tok, String rendered) {
        int[] ids = tok.encode(rendered, false);
        int bos = tok.bosId();
        if (bos < 0 || (ids.length > 0 && ids[0] == bos)) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }
}
