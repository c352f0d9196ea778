package io.tune4j.eval;

import io.tune4j.data.BadRecords;
import io.tune4j.data.DataFormat;
import io.tune4j.data.Example;
import io.tune4j.data.FieldMapping;
import io.tune4j.data.PromptTemplate;
import io.tune4j.data.RawRecord;
import io.tune4j.data.RecordReader;
import io.tune4j.data.Segment;
import io.tune4j.data.TextMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Validation records as prompt/reference pairs, laid out by the same template the model trains
 * with, so that generation metrics ask exactly the question training taught. Label tasks get
 * their label words as options and multiple-choice records their own (scored by likelihood).
 * Records read as finetune reads them: the same mapping, template and format.
 */
public final class EvalExamples {
    private EvalExamples() {}

    /** At most limit examples (&lt;= 0: all) of the records that have a response. */
    public static List<EvalExample> from(Path file, DataFormat format, TextMode textMode, FieldMapping unresolved,
                                         PromptTemplate template, int limit) {
        List<RawRecord> raw = RecordReader.read(file, format, textMode, new BadRecords(true));
        if (raw.isEmpty()) return List.of();
        FieldMapping mapping = unresolved.resolve(raw.get(0));
        List<String> prompts = new ArrayList<>(), refs = new ArrayList<>();
        List<List<String>> ownOptions = new ArrayList<>();
        for (RawRecord r : raw) {
            if (limit > 0 && prompts.size() >= limit) break;
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
            ownOptions.add(ex instanceof Example.Instruction in ? in.options() : List.of());
        }
        List<String> options = labelOptions(mapping, refs);
        List<EvalExample> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            List<String> own = ownOptions.get(i);
            if (!own.isEmpty()) {
                out.add(EvalExample.labelled(prompts.get(i), own, own.indexOf(refs.get(i))));
            } else {
                out.add(options == null ? new EvalExample(prompts.get(i), refs.get(i))
                        : EvalExample.labelled(prompts.get(i), options, options.indexOf(refs.get(i))));
            }
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
