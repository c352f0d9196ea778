package io.tune4j.data;

import io.tune4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Raw files to {@link PreparedDataset}: read, map fields, drop empty examples, exact and near
 * duplicates, template and tokenise, handle over-long examples, split off validation (a file, or
 * a seeded fraction), remove from train what validation holds, and count what every rule did.
 */
public final class Preprocessor {
    private final Tokenizer tokenizer;
    private final FieldMapping mapping;
    private final PromptTemplate template;
    private final Path modelDir;
    private final PrepareOptions options;

    /** template null: {@link Templates#defaultFor} the record kind; modelDir is needed only for the "model" template. */
    public Preprocessor(Tokenizer tokenizer, FieldMapping mapping, PromptTemplate template, Path modelDir, PrepareOptions options) {
        this.tokenizer = tokenizer;
        this.mapping = mapping;
        this.template = template;
        this.modelDir = modelDir;
        this.options = options;
    }

    /** An example tokenised, with the key that finds it again in the other split (null: never matched). */
    private record Item(TokenizedExample tokens, String nearKey) {}

    private record SourceResult(List<Item> items, DataReport.SourceReport report) {}

    public PreparedDataset prepare(Path trainFile, Path validationFile) {
        BadRecords trainBad = new BadRecords(options.skipBadRecords());
        List<RawRecord> trainRecords = read(trainFile, trainBad);
        FieldMapping resolved = mapping.resolve(trainRecords.isEmpty() ? null : trainRecords.get(0));
        PromptTemplate tpl = template != null ? template
                : Templates.byName(Templates.defaultFor(resolved.kind(), modelDir), modelDir);
        ExampleTokenizer exTok = new ExampleTokenizer(tokenizer, options.trainOnPrompt(), options.trainOnEos());

        SourceResult train = process(trainFile, "train", trainRecords, trainBad, resolved, tpl, exTok);
        List<DataReport.SourceReport> sources = new ArrayList<>(List.of(train.report()));
        List<Item> trainItems = train.items();
        List<Item> valItems;
        DataReport.SplitReport split;
        if (validationFile != null) {
            BadRecords valBad = new BadRecords(options.skipBadRecords());
            List<RawRecord> valRecords = read(validationFile, valBad);
            SourceResult val = process(validationFile, "validation", valRecords, valBad, resolved, tpl, exTok);
            sources.add(val.report());
            valItems = val.items();
            split = new DataReport.SplitReport("file", 0, options.seed(), trainItems.size(), valItems.size());
        } else if (options.valFraction() > 0) {
            BitSet isVal = splitIndices(trainItems.size(), options.valFraction(), options.seed());
            List<Item> t = new ArrayList<>(), v = new ArrayList<>();
            for (int i = 0; i < trainItems.size(); i++) (isVal.get(i) ? v : t).add(trainItems.get(i));
            trainItems = t;
            valItems = v;
            split = new DataReport.SplitReport("fraction", options.valFraction(), options.seed(), t.size(), v.size());
        } else {
            valItems = List.of();
            split = new DataReport.SplitReport("none", 0, options.seed(), trainItems.size(), 0);
        }

        Set<String> valKeys = new HashSet<>();
        for (Item it : valItems) if (it.nearKey() != null) valKeys.add(it.nearKey());
        int before = trainItems.size();
        if (!valKeys.isEmpty()) trainItems = trainItems.stream().filter(it -> !valKeys.contains(it.nearKey())).toList();
        DataReport.RuleCount overlap = DataReport.RuleCount.removal("also in validation", before, trainItems.size());

        List<TokenizedExample> trainEx = trainItems.stream().map(Item::tokens).toList();
        List<TokenizedExample> valEx = valItems.stream().map(Item::tokens).toList();
        DataReport.PackingReport packing = null;
        if (options.pack()) {
            List<PackedRow> tr = Packer.pack(trainEx, options.seqLen()), va = Packer.pack(valEx, options.seqLen());
            packing = new DataReport.PackingReport(tr.size(), va.size(), Packer.fill(tr, options.seqLen()),
                    Packer.fill(va, options.seqLen()));
        }
        DataReport report = new DataReport(resolved.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'), tpl.name(),
                options.seqLen(), sources, split, overlap, DataReport.TokenStats.of(trainEx), DataReport.TokenStats.of(valEx),
                packing,
                DataLoss.warnings(sources, options.seqLen()));
        return new PreparedDataset(trainEx, valEx, report);
    }

    /**
     * One file prepared exactly as {@link #prepare} prepares a validation file (its layout resolved
     * from its own first record), for evaluating on the tokens a run validated on. The examples
     * come back as the validation set; train is empty.
     */
    public PreparedDataset prepareValidation(Path file) {
        BadRecords bad = new BadRecords(options.skipBadRecords());
        List<RawRecord> records = read(file, bad);
        FieldMapping resolved = mapping.resolve(records.isEmpty() ? null : records.get(0));
        PromptTemplate tpl = template != null ? template
                : Templates.byName(Templates.defaultFor(resolved.kind(), modelDir), modelDir);
        ExampleTokenizer exTok = new ExampleTokenizer(tokenizer, options.trainOnPrompt(), options.trainOnEos());
        SourceResult val = process(file, "validation", records, bad, resolved, tpl, exTok);
        List<TokenizedExample> ex = val.items().stream().map(Item::tokens).toList();
        List<DataReport.SourceReport> sources = List.of(val.report());
        return new PreparedDataset(List.of(), ex, new DataReport(resolved.kind().name().toLowerCase(java.util.Locale.ROOT)
                .replace('_', '-'), tpl.name(), options.seqLen(), sources,
                new DataReport.SplitReport("file", 0, options.seed(), 0, ex.size()), null, DataReport.TokenStats.of(List.of()),
                DataReport.TokenStats.of(ex), null, DataLoss.warnings(sources, options.seqLen())));
    }

    private List<RawRecord> read(Path file, BadRecords bad) {
        return RecordReader.read(file, options.format(), options.textMode(), bad);
    }

    /**
     * Seeded choice of round(n * fraction) validation indices (at least one when n > 1), the rest
     * train; both keep file order. java.util.Random is specified bit for bit, so the split is the
     * same on every JVM.
     */
    public static BitSet splitIndices(int n, double fraction, long seed) {
        int v = (int) Math.round(n * fraction);
        if (fraction > 0 && v == 0 && n > 1) v = 1;
        v = Math.min(v, Math.max(0, n - 1));
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        Collections.shuffle(Arrays.asList(idx), new Random(seed));
        BitSet out = new BitSet(n);
        for (int i = 0; i < v; i++) out.set(idx[i]);
        return out;
    }

    private SourceResult process(Path file, String role, List<RawRecord> records, BadRecords bad, FieldMapping m,
                                 PromptTemplate tpl, ExampleTokenizer exTok) {
        int rejectedWhileReading = bad.total();
        List<Example> examples = new ArrayList<>(records.size());
        for (RawRecord r : records) {
            try {
                examples.add(m.toExample(r));
            } catch (FieldMapping.FieldException e) {
                bad.reject(e.reason, e);
            } catch (DataFormatException e) {
                bad.reject(BadRecords.MALFORMED, e);
            }
        }
        List<DataReport.RuleCount> rules = new ArrayList<>();
        int recordsRead = records.size() + rejectedWhileReading;
        rules.add(DataReport.RuleCount.removal("unreadable (UTF-8, syntax)", recordsRead, records.size()));
        rules.add(DataReport.RuleCount.removal("missing or mistyped fields", records.size(), examples.size()));

        int before = examples.size();
        examples = examples.stream().filter(e -> !e.hasEmptyField()).toList();
        rules.add(DataReport.RuleCount.removal("empty fields", before, examples.size()));

        if (options.dropExactDuplicates()) {
            Set<String> seen = new HashSet<>();
            before = examples.size();
            examples = examples.stream().filter(e -> seen.add(e.contentKey())).toList();
            rules.add(DataReport.RuleCount.removal("exact duplicates", before, examples.size()));
        }
        List<String> nearKeys = new ArrayList<>(examples.size());
        for (Example e : examples) nearKeys.add(nearKey(e));
        if (options.dropNearDuplicates()) {
            Set<String> seen = new HashSet<>();
            List<Example> kept = new ArrayList<>();
            List<String> keptKeys = new ArrayList<>();
            for (int i = 0; i < examples.size(); i++) {
                if (seen.add(nearKeys.get(i))) {
                    kept.add(examples.get(i));
                    keptKeys.add(nearKeys.get(i));
                }
            }
            rules.add(DataReport.RuleCount.removal("near duplicates", examples.size(), kept.size()));
            examples = kept;
            nearKeys = keptKeys;
        }

        List<Item> items = new ArrayList<>(examples.size());
        int templateRejected = 0, overLong = 0, noTarget = 0, produced = 0, responsesCut = 0;
        long responseTokens = 0, responseTokensKept = 0;
        Truncation policy = options.truncationPolicy();
        int seqLen = options.seqLen();
        Object[] tokenized = tokenizeAll(examples, tpl, exTok);
        List<Integer> lengths = new ArrayList<>(examples.size());
        for (int i = 0; i < examples.size(); i++) {
            if (tokenized[i] instanceof DataFormatException ex) {
                bad.reject(BadRecords.MALFORMED, ex);
                templateRejected++;
                continue;
            }
            TokenizedExample t = (TokenizedExample) tokenized[i];
            lengths.add(t.length());
            long targets = Truncation.targets(t);
            responseTokens += targets;
            List<TokenizedExample> pieces = policy.apply(t, seqLen, exTok.bosId());
            if (t.length() > seqLen) overLong++;
            boolean single = pieces.size() == 1;
            long kept = 0;
            for (TokenizedExample masked : pieces) {
                // a target needs a trained label after the first token (targets are shifted by one)
                TokenizedExample p = exTok.withPromptLabels(masked);
                if (Truncation.targets(p) == 0) {
                    noTarget++;
                    continue;
                }
                kept += Truncation.targets(masked);
                produced++;
                items.add(new Item(p, single ? nearKeys.get(i) : null));
            }
            responseTokensKept += kept;
            if (kept > 0 && kept < targets && policy != Truncation.SPLIT) responsesCut++;
        }
        int afterTemplate = examples.size() - templateRejected;
        if (templateRejected > 0) rules.add(DataReport.RuleCount.removal("does not fit the template", examples.size(), afterTemplate));
        String overName = "over-long (" + switch (policy) {
            case DROP -> "dropped";
            case SPLIT -> "split";
            case KEEP_RESPONSE -> "prompt start cut";
            case LEFT -> "start cut";
            case RIGHT -> "end cut";
        } + ")";
        int afterOverLong = policy == Truncation.DROP ? afterTemplate - overLong : produced + noTarget;
        rules.add(new DataReport.RuleCount(overName, afterTemplate, afterOverLong, overLong));
        rules.add(DataReport.RuleCount.removal("nothing to train on", afterOverLong, produced));
        DataReport.Coverage coverage = new DataReport.Coverage(recordsRead, items.size(), responseTokens, responseTokensKept,
                responsesCut, percentile(lengths, 0.95), policy.id());

        Set<String> badMessages = new java.util.LinkedHashSet<>(bad.firstMessages());
        DataReport.SourceReport report = new DataReport.SourceReport(file.toString(), role, recordsRead, bad.counts(),
                List.copyOf(badMessages), rules, items.size(), coverage);
        return new SourceResult(items, report);
    }

    /**
     * Tokenises on every core (tokenisation dominates preparation; tokenizers are stateless);
     * slot i holds example i's result or the template's complaint about it, so that errors are
     * still reported in file order.
     */
    private static Object[] tokenizeAll(List<Example> examples, PromptTemplate tpl, ExampleTokenizer exTok) {
        Object[] out = new Object[examples.size()];
        IntStream.range(0, out.length).parallel().forEach(i -> {
            try {
                // response-only labels first: truncation and the report must know where the response is,
                // also when the prompt is trained on (its labels are filled in after truncation)
                out[i] = exTok.tokenizeResponseLabels(tpl.segments(examples.get(i)));
            } catch (DataFormatException e) {
                out[i] = e;
            }
        });
        return out;
    }

    private static String nearKey(Example e) {
        return TextNormalizer.normalize(e.contentKey()).replaceAll(" ?\u0000 ?", "\u0000");
    }

    /** The length that q of the examples do not exceed (0 when there are none). */
    private static int percentile(List<Integer> lengths, double q) {
        if (lengths.isEmpty()) return 0;
        int[] a = lengths.stream().mapToInt(Integer::intValue).sorted().toArray();
        return a[Math.min(a.length - 1, (int) Math.ceil(q * a.length) - 1)];
    }
}
