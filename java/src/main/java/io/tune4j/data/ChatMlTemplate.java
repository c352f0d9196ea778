package io.tune4j.data;

import java.util.ArrayList;
import java.util.List;

/**
 * ChatML: each turn is "<|im_start|>ROLE\nCONTENT<|im_end|>\n". The response covers the
 * assistant's content and its <|im_end|>, then EOS; the newline after it opens the next turn.
 */
public final class ChatMlTemplate implements PromptTemplate {
    @Override
    public String name() {
        return "chatml";
    }

    @Override
    public List<Segment> segments(Example example) {
        List<Segment> out = new ArrayList<>();
        out.add(Segment.bos());
        if (example instanceof Example.Text t) {
            out.add(Segment.response(t.text()));
            out.add(Segment.eos());
            return out;
        }
        StringBuilder prompt = new StringBuilder();
        for (Message m : example.messages()) {
            if (m.isAssistant()) {
                prompt.append("<|im_start|>assistant\n");
                out.add(Segment.prompt(prompt.toString()));
                out.add(Segment.response(m.content() + "<|im_end|>"));
                out.add(Segment.eos());
                prompt.setLength(0);
                prompt.append('\n');
            } else {
                prompt.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
            }
        }
        return out;
    }
}
