package io.tune4j.data;

import java.util.ArrayList;
import java.util.List;

/**
 * No template: the texts as they are, one per line. An instruction is its instruction (and input,
 * after a blank line), then the response on the next line, like chat turns; plain text is trained
 * on whole.
 */
public final class RawTemplate implements PromptTemplate {
    @Override
    public String name() {
        return "none";
    }

    @Override
    public List<Segment> segments(Example example) {
        List<Segment> out = new ArrayList<>();
        out.add(Segment.bos());
        if (example instanceof Example.Text t) {
            out.add(Segment.response(t.text()));
            out.add(Segment.eos());
        } else if (example instanceof Example.Instruction in) {
            out.add(Segment.prompt((in.system().isEmpty() ? "" : in.system() + "\n\n") + in.userText() + "\n"));
            out.add(Segment.response(in.output()));
            out.add(Segment.eos());
        } else if (example instanceof Example.Chat c) {
            for (Message m : c.messages()) {
                if (m.isAssistant()) {
                    out.add(Segment.response(m.content()));
                    out.add(Segment.eos());
                    } else {
                    out.add(Segment.prompt(m.content() + "\n"));
                }
            }
        }
        return out;
    }
}
