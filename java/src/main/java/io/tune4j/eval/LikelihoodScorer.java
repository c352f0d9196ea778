package io.tune4j.eval;

import io.tune4j.data.TokenizedExample;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.TrainingContext;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import io.tune4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Log-likelihoods of continuations given their contexts, computed with training forwards: spans
 * are packed into [B,T] rows (kvStart keeps them apart), and each span's summed log-probability
 * comes from the native LM-head cross-entropy over just its continuation rows.
 */
public final class LikelihoodScorer {
    /** ids[0..from) is context, ids[from..] the continuation whose likelihood is wanted. */
    public record Span(int[] ids, int from) {
        public Span {
            if (from < 1 || from >= ids.length) {
                throw new IllegalArgumentException("continuation must start in [1, " + ids.length + "), got " + from);
            }
        }

        public int continuationLength() {
            return ids.length - from;
        }
    }

    /** Each option's total log-likelihood (nats) and token count. */
    public record OptionScores(double[] logLikelihoods, int[] tokens) {
        /** The most likely option (first on ties). */
        public int best() {
            int b = 0;
            for (int i = 1; i < logLikelihoods.length; i++) if (logLikelihoods[i] > logLikelihoods[b]) b = i;
            return b;
        }
    }

    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final int tokensPerBatch;
    private final Runnable beforeForward;

    /** tokensPerBatch bounds B*T of the training context (its activations scale with it). */
    public LikelihoodScorer(LlamaModel model, Tokenizer tokenizer, int tokensPerBatch, Runnable beforeForward) {
        if (tokensPerBatch < 1) throw new IllegalArgumentException("tokens per batch must be >= 1, got " + tokensPerBatch);
        this.model = model;
        this.tokenizer = tokenizer;
        this.tokensPerBatch = tokensPerBatch;
        this.beforeForward = beforeForward;
    }

    /** Scores every option of every label example. */
    public List<OptionScores> scoreOptions(List<EvalExample> examples) {
        List<Span> spans = new ArrayList<>();
        for (EvalExample e : examples) {
            if (!e.isLabelTask()) throw new IllegalArgumentException("example without options: " + e.prompt());
            for (String o : e.options()) spans.add(span(e.prompt(), o));
        }
        double[] ll = score(spans);
        List<OptionScores> out = new ArrayList<>();
        int k = 0;
        for (EvalExample e : examples) {
            int n = e.options().size();
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) tokens[i] = spans.get(k + i).continuationLength();
            out.add(new OptionScores(Arrays.copyOfRange(ll, k, k + n), tokens));
            k += n;
        }
        return out;
    }

    /**
     * The span scoring continuation after prompt. The pair is tokenised together (as the model
     * would read it) and the continuation is whatever follows the longest common prefix with the
     * prompt's own tokens, so a token merged across the boundary counts as continuation. Contexts
     * too long for the model lose their oldest tokens.
     */
    public Span span(String prompt, String continuation) {
        int[] p = tokenizer.encode(prompt, true);
        int[] full = tokenizer.encode(prompt + continuation, true);
        int common = 0;
        while (common < p.length && common < full.length && p[common] == full[common]) common++;
        if (common == full.length) {
            throw new IllegalArgumentException("continuation '" + continuation + "' adds no tokens to prompt '" + prompt + "'");
        }
        if (common == 0) throw new IllegalArgumentException("nothing precedes continuation '" + continuation + "' (no BOS, empty prompt)");
        int max = model.config().maxPositions();
        if (full.length > max) {
            int drop = full.length - max;
            if (drop >= common) {
                throw new IllegalArgumentException("continuation '" + continuation + "' alone exceeds the model's context of " + max + " tokens");
            }
            full = Arrays.copyOfRange(full, drop, full.length);
            common -= drop;
        }
        return new Span(full, common);
    }

    /** Summed log-probability of each span's continuation. */
    public double[] score(List<Span> spans) {
        double[] out = new double[spans.size()];
        if (spans.isEmpty()) return out;
        int longest = 1;
        for (Span s : spans) longest = Math.max(longest, s.ids().length);
        // rows longer than the longest span let short spans share them
        int T = Math.min(model.config().maxPositions(), Math.max(longest, Math.min(tokensPerBatch, 256)));
        int B = Math.max(1, tokensPerBatch / T);
        int V = model.config().vocabSize(), d = model.config().hiddenSize();
        int blockRows = Math.max(1, Math.min(T, (4 << 20) / V));
        try (TrainingContext c = model.newTrainingContext(B, T); Arena arena = new Arena(model.ops())) {
            Tensor targets = arena.i32(T);
            Tensor ws = arena.f32((long) blockRows * V);
            Packing p = new Packing(B, T);
            for (int i = 0; i < spans.size(); i++) {
                if (!p.fits(spans.get(i))) {
                    run(c, p, spans, out, targets, ws, blockRows, V, d);
                    p = new Packing(B, T);
                }
                p.add(i, spans.get(i));
            }
            run(c, p, spans, out, targets, ws, blockRows, V, d);
        }
        return out;
    }

    private void run(TrainingContext c, Packing p, List<Span> spans, double[] out, Tensor targets, Tensor ws,
                     int blockRows, int V, int d) {
        if (p.count == 0) return;
        c.setBatch(p.ids, p.targets, p.positions, p.kvStart);
        if (beforeForward != null) beforeForward.run();
        model.forward(c);
        for (int k = 0; k < p.count; k++) {
            Span s = spans.get(p.spanIndex[k]);
            int n = s.continuationLength();
            // hidden state at position j predicts token j+1
            int first = p.offset[k] + s.from() - 1;
            Tensor h = c.finalHidden().slice(first, first + n);
            model.ops().write(targets.slice(0, n), Arrays.copyOfRange(s.ids(), s.from(), s.from() + n));
            out[p.spanIndex[k]] = -model.headLoss(h, targets.slice(0, n), n, ws, blockRows).sum();
        }
    }

    /** Spans laid out first-fit in order over B rows of T tokens; padding sees only itself. */
    private static final class Packing {
        final int B, T;
        final int[] ids, targets, positions, kvStart;
        int row, fill, count;
        int[] spanIndex = new int[8], offset = new int[8];

        Packing(int B, int T) {
            this.B = B;
            this.T = T;
            int M = B * T;
            ids = new int[M];
            targets = new int[M];
            positions = new int[M];
            kvStart = new int[M];
            Arrays.fill(targets, TokenizedExample.IGNORE);
            for (int i = 0; i < M; i++) kvStart[i] = i % T;
        }

        boolean fits(Span s) {
            return fill + s.ids().length <= T || row + 1 < B;
        }

        void add(int index, Span s) {
            int len = s.ids().length;
            if (fill + len > T) {
                row++;
                fill = 0;
            }
            int base = row * T + fill;
            for (int j = 0; j < len; j++) {
                ids[base + j] = s.ids()[j];
                positions[base + j] = j;
                kvStart[base + j] = fill;
            }
            for (int j = s.from() - 1; j < len - 1; j++) targets[base + j] = s.ids()[j + 1];
            if (count == spanIndex.length) {
                spanIndex = Arrays.copyOf(spanIndex, count * 2);
                offset = Arrays.copyOf(offset, count * 2);
            }
            spanIndex[count] = index;
            offset[count] = base;
            count++;
            fill += len;
        }
    }
}
