package io.tune4j.eval;

import java.util.List;

/**
 * One evaluation item: the prompt the model sees, the reference continuation, and for label tasks
 * (classification, multiple choice) the candidate continuations, one of which equals the reference.
 * Plain language-model text is an example with an empty prompt: its loss covers all of it.
 */
public record EvalExample(String prompt, String reference, List<String> options) {
    public EvalExample {
        if (prompt == null) throw new IllegalArgumentException("prompt must not be null");
        if (reference == null) throw new IllegalArgumentException("reference must not be null");
        if (options != null) {
            options = List.copyOf(options);
            if (options.size() < 2) throw new IllegalArgumentException("a label task needs at least 2 options, got " + options.size());
            if (!options.contains(reference)) {
                throw new IllegalArgumentException("reference '" + reference + "' is not one of the options " + options);
            }
        }
    }

    public EvalExample(String prompt, String reference) {
        this(prompt, reference, null);
    }

    /** A label task whose answer is options[gold]. */
    public static EvalExample labelled(String prompt, List<String> options, int gold) {
        if (gold < 0 || gold >= options.size()) {
            throw new IllegalArgumentException("label " + gold + " is outside the " + options.size() + " options");
        }
        return new EvalExample(prompt, options.get(gold), options);
    }

    public boolean isLabelTask() {
        return options != null;
    }

    /** Index of the reference among the options; -1 when this is not a label task. */
    public int goldIndex() {
        return options == null ? -1 : options.indexOf(reference);
    }
}
