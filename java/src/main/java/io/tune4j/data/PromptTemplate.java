package io.tune4j.data;

import java.util.List;

/** Lays an {@link Example} out as text the model is trained on, marking what the loss covers. */
public interface PromptTemplate {
    String name();

    List<Segment> segments(Example example);

    /** The example as one string, BOS and EOS spelled as given (for display and tests). */
    default String render(Example example, String bos, String eos) {
        StringBuilder sb = new StringBuilder();
        for (Segment s : segments(example)) {
            switch (s.type()) {
                case TEXT -> sb.append(s.text());
                case BOS -> sb.append(bos);
                case EOS -> sb.append(eos);
            }
        }
        return sb.toString();
    }
}
