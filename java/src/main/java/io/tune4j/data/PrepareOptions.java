package io.tune4j.data;

/**
 * How a dataset is prepared. valFraction applies only when no validation file is given; format
 * null means "from the file extension"; truncation null means SPLIT for whole-file text and
 * KEEP_RESPONSE otherwise.
 */
public record PrepareOptions(int seqLen, Truncation truncation, boolean trainOnPrompt, double valFraction, long seed,
                             boolean dropExactDuplicates, boolean dropNearDuplicates, boolean pack, boolean skipBadRecords,
                             DataFormat format, TextMode textMode, boolean trainOnEos) {
    public PrepareOptions {
        if (seqLen < 2) throw new IllegalArgumentException("sequence length must be at least 2, got " + seqLen);
        if (!(valFraction >= 0 && valFraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in [0, 1), got " + valFraction);
        }
        if (textMode == null) textMode = TextMode.PARAGRAPHS;
    }

    public static PrepareOptions defaults(int seqLen) {
        return new PrepareOptions(seqLen, null, false, 0.0, 42, true, true, false, false, null, TextMode.PARAGRAPHS, true);
    }

    /**
     * Whether the EOS after each response carries a loss. Off for models whose EOS embedding was
     * never trained (llama2.c conversions delimit documents with BOS): LoRA cannot move that
     * row, so the EOS loss stays high and its gradient drowns what the task should teach.
     */
    public PrepareOptions withTrainOnEos(boolean b) {
        return new PrepareOptions(seqLen, truncation, trainOnPrompt, valFraction, seed, dropExactDuplicates, dropNearDuplicates,
                pack, skipBadRecords, format, textMode, b);
    }

    public Truncation truncationPolicy() {
        return truncation != null ? truncation : textMode == TextMode.WHOLE_FILE ? Truncation.SPLIT : Truncation.KEEP_RESPONSE;
    }

    public PrepareOptions withValFraction(double f, long seed) {
        return new PrepareOptions(seqLen, truncation, trainOnPrompt, f, seed, dropExactDuplicates, dropNearDuplicates, pack,
                skipBadRecords, format, textMode, trainOnEos);
    }

    public PrepareOptions withTruncation(Truncation o) {
        return new PrepareOptions(seqLen, o, trainOnPrompt, valFraction, seed, dropExactDuplicates, dropNearDuplicates, pack,
                skipBadRecords, format, textMode, trainOnEos);
    }

    public PrepareOptions withTrainOnPrompt(boolean b) {
        return new PrepareOptions(seqLen, truncation, b, valFraction, seed, dropExactDuplicates, dropNearDuplicates, pack,
                skipBadRecords, format, textMode, trainOnEos);
    }

    public PrepareOptions withDeduplication(boolean exact, boolean near) {
        return new PrepareOptions(seqLen, truncation, trainOnPrompt, valFraction, seed, exact, near, pack, skipBadRecords,
                format, textMode, trainOnEos);
    }

    public PrepareOptions withPacking(boolean p) {
        return new PrepareOptions(seqLen, truncation, trainOnPrompt, valFraction, seed, dropExactDuplicates, dropNearDuplicates,
                p, skipBadRecords, format, textMode, trainOnEos);
    }

    public PrepareOptions withSkipBadRecords(boolean s) {
        return new PrepareOptions(seqLen, truncation, trainOnPrompt, valFraction, seed, dropExactDuplicates, dropNearDuplicates,
                pack, s, format, textMode, trainOnEos);
    }

    public PrepareOptions withFormat(DataFormat f, TextMode m) {
        return new PrepareOptions(seqLen, truncation, trainOnPrompt, valFraction, seed, dropExactDuplicates, dropNearDuplicates,
                pack, skipBadRecords, f, m, trainOnEos);
    }
}
