package io.tune4j.finetune;

import io.tune4j.data.BadRecords;
import io.tune4j.data.Example;
import io.tune4j.data.FieldMapping;
import io.tune4j.data.PromptTemplate;
import io.tune4j.data.RawRecord;
import io.tune4j.data.RecordReader;
import io.tune4j.data.Segment;
import io.tune4j.eval.EvalExample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Validation records as prompt/reference pairs, laid out by the same template the model trains
 * with, so that generation metrics ask exactly the question training taught. Label tasks get
 * their label words as options (scored by likelihood).
 */
final class EvalExamples {
    private EvalExamples() {}

    static List<EvalExample> from(Path file, DataSpec spec, PromptTemplate template, int limit) {
        List<RawRecord> raw = RecordReader.read(file, spec.format() == null ? null : io.tune4j.data.DataFormat.parse(spec.format()),
                DataSpec.textMode(spec.textMode()), new BadRecords(true));
        if (raw.isEmpty()) return List.of();
        FieldMapping mapping = spec.mapping().resolve(raw.get(0));
        List<String> prompts = new ArrayList<>(), refs = new ArrayList<>();
        for (RawRecord r : raw) {
            if (prompts.size() >= limit) break;
            Example ex;
            try {
                ex = mapping.toExample(r);
            } catch (IllegalArgumentException bad) {
                continue; // counted by the data report already; evaluation just skips it
            }
            StringBuilder prompt = new StringBuilder(), ref = new StringBuilder();
            for (Segment s : template.segments(ex)) {
                if (s.type() != Segment.Type.TEXT) continue;
                // the first response ends the question: later turns are not part of this example's answer
                if (s.trainable()) {
                    ref.append(s.text());
                    break;
                }
                prompt.append(s.text());
            }
            if (ref.length() == 0) continue;
            prompts.add(prompt.toString());
            refs.add(ref.toString());
        }
        List<String> options = labelOptions(mapping, refs);
        List<EvalExample> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            out.add(options == null ? new EvalExample(prompts.get(i), refs.get(i))
                    : EvalExample.labelled(prompts.get(i), options, options.indexOf(refs.get(i))));
        }
        return out;
    }

    /** The label words of a label task (in label-map order), or null for open-ended outputs. */
    private static List<String> labelOptions(FieldMapping mapping, List<String> refs) {
        if (mapping.kind() != FieldMapping.Kind.LABEL) return null;
        LinkedHashSet<String> words = new LinkedHashSet<>(mapping.labelMap().values());
        words.addAll(refs);
        return List.copyOf(words);
    }
}
