package io.tune4j.data;

import java.util.ArrayList;
import java.util.List;

/**
 * The Stanford Alpaca prompt: a preamble, "### Instruction:", optional "### Input:", then
 * "### Response:". A system message replaces the preamble; in chats every user turn becomes an
 * instruction and every assistant turn its response.
 */
public final class AlpacaTemplate implements PromptTemplate {
    public static final String PREAMBLE_INPUT = "Below is an instruction that describes a task, paired with an input that "
            + "provides further context. Write a response that appropriately completes the request.\n\n";
    public static final String PREAMBLE_NO_INPUT = "Below is an instruction that describes a task. Write a response that "
            + "appropriately completes the request.\n\n";

    @Override
    public String name() {
        return "alpaca";
    }

    @Override
    public List<Segment> segments(Example example) {
        List<Segment> out = new ArrayList<>();
        out.add(Segment.bos());
        if (example instanceof Example.Instruction in) {
            boolean hasInput = !in.input().isEmpty();
            String preamble = !in.system().isEmpty() ? in.system() + "\n\n" : hasInput ? PREAMBLE_INPUT : PREAMBLE_NO_INPUT;
            String prompt = preamble + "### Instruction:\n" + in.instruction() + "\n\n"
                    + (hasInput ? "### Input:\n" + in.input() + "\n\n" : "") + "### Response:\n";
            out.add(Segment.prompt(prompt));
            out.add(Segment.response(in.output()));
            out.add(Segment.eos());
        } else if (example instanceof Example.Chat c) {
            StringBuilder prompt = new StringBuilder();
            boolean first = true;
            for (Message m : c.messages()) {
                switch (m.role()) {
                    case Message.SYSTEM -> prompt.append(m.content()).append("\n\n");
                    case Message.USER -> {
                        if (first && prompt.isEmpty()) prompt.append(PREAMBLE_NO_INPUT);
                        prompt.append("### Instruction:\n").append(m.content()).append("\n\n### Response:\n");
                    }
                    default -> {
                        out.add(Segment.prompt(prompt.toString()));
                        out.add(Segment.response(m.content()));
                        out.add(Segment.eos());
                        prompt.setLength(0);
                    }
                }
                first = false;
            }
        } else {
            out.add(Segment.response(((Example.Text) example).text()));
            out.add(Segment.eos());
        }
        return out;
    }
}
