package io.tune4j.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Llama-2 chat, as Meta's reference code builds it: every exchange is
 * BOS "[INST] USER [/INST] ANSWER " EOS, the system prompt wrapped in <<SYS>> inside the first
 * user turn, contents stripped. Turns must alternate user/assistant after an optional system turn.
 */
public final class Llama2Template implements PromptTemplate {
    static final String B_INST = "[INST]", E_INST = "[/INST]";
    static final String B_SYS = "<<SYS>>\n", E_SYS = "\n<</SYS>>\n\n";

    @Override
    public String name() {
        return "llama2";
    }

    @Override
    public List<Segment> segments(Example example) {
        List<Segment> out = new ArrayList<>();
        if (example instanceof Example.Text t) {
            out.add(Segment.bos());
            out.add(Segment.response(t.text()));
            out.add(Segment.eos());
            return out;
        }
        List<Message> ms = example.messages();
        String system = null;
        int i = 0;
        if (!ms.isEmpty() && Message.SYSTEM.equals(ms.get(0).role())) {
            system = ms.get(0).content();
            i = 1;
        }
        for (; i + 1 < ms.size(); i += 2) {
            Message user = ms.get(i), answer = ms.get(i + 1);
            if (!Message.USER.equals(user.role()) || !answer.isAssistant()) {
                throw new DataFormatException(example.origin(), 0, "messages must alternate user and assistant turns after an "
                        + "optional system turn (llama2 template); turn " + (i + 1) + " is '" + user.role() + "', turn "
                        + (i + 2) + " is '" + answer.role() + "'");
            }
            String content = system != null ? B_SYS + system + E_SYS + user.content() : user.content();
            system = null;
            out.add(Segment.bos());
            out.add(Segment.prompt(B_INST + " " + content.strip() + " " + E_INST));
            out.add(Segment.response(" " + answer.content().strip() + " "));
            out.add(Segment.eos());
        }
        // a trailing user turn has no answer to learn from: dropped
        return out;
    }
}
