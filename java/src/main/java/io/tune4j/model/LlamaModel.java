package io.tune4j.model;

import io.tune4j.model.arch.ModuleTable;
import io.tune4j.model.arch.ModuleTable.Proj;
import io.tune4j.ops.LossSum;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Llama-family decoder over one op backend: training forward/backward with a fused LM-head
 * loss, and cached forward steps for generation. Weights are named as in Hugging Face checkpoints.
 */
public final class LlamaModel implements AutoCloseable {
    private final LlamaConfig cfg;
    private final Ops ops;
    private final Parameter embed;
    private Parameter finalNorm;
    private final Parameter lmHead; // the embedding parameter itself when tied
    private Tensor lmHeadPacked;    // bf16 LM head for decoding (packForDecoding)
    private final List<DecoderLayer> layers;
    private final Arena arena;      // this backend's tensors the model owns: rope tables, weights it uploaded
    final Tensor ropeCos;
    final Tensor ropeSin;
    final Tensor ropeLocalCos; // the sliding layers' own RoPE (Gemma 3), else null
    final Tensor ropeLocalSin;
    final int ropeMax;
    private final float normOffset;
    private final float embedScale;  // 0: the embedding rows as stored
    private final float finalSoftcap; // 0: none

    private LlamaModel(LlamaConfig cfg, Ops ops, Arena arena, Parameter embed, Parameter finalNorm, Parameter lmHead,
                       List<DecoderLayer> layers) {
        this.cfg = cfg;
        this.ops = ops;
        this.arena = arena;
        this.embed = embed;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.layers = layers;
        this.ropeMax = cfg.maxPositions();
        this.ropeCos = arena.f32(ropeMax, cfg.headDim() / 2);
        this.ropeSin = arena.f32(ropeMax, cfg.headDim() / 2);
        ops.ropeTable(ropeCos, ropeSin, ropeMax, cfg.headDim(), cfg.rope());
        var x = cfg.features().extras();
        if (x.localRopeTheta() > 0) {
            this.ropeLocalCos = arena.f32(ropeMax, cfg.headDim() / 2);
            this.ropeLocalSin = arena.f32(ropeMax, cfg.headDim() / 2);
            ops.ropeTable(ropeLocalCos, ropeLocalSin, ropeMax, cfg.headDim(),
                    io.tune4j.ops.RopeScaling.none(x.localRopeTheta()));
        } else {
            this.ropeLocalCos = null;
            this.ropeLocalSin = null;
        }
        this.normOffset = x.normOffset();
        // transformers multiplies by sqrt(hidden_size) rounded to the activations' dtype
        this.embedScale = x.scaleEmbeddings() ? (float) Math.sqrt(cfg.hiddenSize()) : 0f;
        this.finalSoftcap = x.finalSoftcap();
    }

    /**
     * Builds the model over weights named as in Hugging Face Llama checkpoints. Weights already on the
     * backend's device are used in place and stay owned by the caller (usually a checkpoint's arena);
     * others (host weights for a CUDA model) are copied to the device once and owned by the model.
     */
    public static LlamaModel fromWeights(LlamaConfig cfg, Map<String, Tensor> w, Ops ops) {
        Arena arena = new Arena(ops);
        try {
            return fromWeights(cfg, w, ops, arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static LlamaModel fromWeights(LlamaConfig cfg, Map<String, Tensor> w, Ops ops, Arena arena) {
        Parameter embed = param(w, "model.embed_tokens.weight", ops, arena, cfg.vocabSize(), cfg.hiddenSize());
        Parameter norm = param(w, "model.norm.weight", ops, arena, cfg.hiddenSize());
        Parameter head = cfg.tieWordEmbeddings() ? embed
                : param(w, "lm_head.weight", ops, arena, cfg.vocabSize(), cfg.hiddenSize());
        List<DecoderLayer> layers = new ArrayList<>();
        int d = cfg.hiddenSize(), hd = cfg.headDim();
        for (int l = 0; l < cfg.numLayers(); l++) {
            Map<Proj, Projection> proj = new EnumMap<>(Proj.class);
            for (Proj p : ModuleTable.projections(cfg)) {
                String prefix = ModuleTable.layer(l, p.path());
                long[] shape = ModuleTable.shape(cfg, p);
                proj.put(p, new DenseProjection(ops, param(w, prefix + ".weight", ops, arena, shape),
                        ModuleTable.hasBias(cfg, p) ? param(w, prefix + ".bias", ops, arena, shape[0]) : null));
            }
            Map<String, Parameter> norms = new java.util.LinkedHashMap<>();
            for (String n : ModuleTable.layerNorms(cfg)) {
                norms.put(n, param(w, ModuleTable.layer(l, n + ".weight"), ops, arena, n.startsWith("self_attn.") ? hd : d));
            }
            layers.add(new DecoderLayer(l, cfg, ops, norms, proj));
        }
        return new LlamaModel(cfg, ops, arena, embed, norm, head, layers);
    }

    private static Parameter param(Map<String, Tensor> w, String name, Ops ops, Arena arena, long... shape) {
        Tensor t = w.get(name);
        if (t == null) throw new IllegalArgumentException("weight '" + name + "' is missing");
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("weight '" + name + "' has shape " + java.util.Arrays.toString(t.shape())
                    + ", expected " + java.util.Arrays.toString(shape));
        }
        return new Parameter(name, ops.resident(t, arena));
    }

    public LlamaConfig config() {
        return cfg;
    }

    public Ops ops() {
        return ops;
    }

    public List<DecoderLayer> layers() {
        return Collections.unmodifiableList(layers);
    }

    public Parameter embedding() {
        return embed;
    }

    public Parameter finalNorm() {
        return finalNorm;
    }

    /** Replaces the final norm's weight (e.g. with a trainable copy of it), same shape; returns the old one. */
    public Parameter replaceFinalNorm(Parameter replacement) {
        if (!java.util.Arrays.equals(finalNorm.value().shape(), replacement.value().shape())) {
            throw new IllegalArgumentException("model.norm: replacement has shape "
                    + java.util.Arrays.toString(replacement.value().shape()) + ", expected "
                    + java.util.Arrays.toString(finalNorm.value().shape()));
        }
        Parameter old = finalNorm;
        finalNorm = replacement;
        return old;
    }

    public Parameter lmHead() {
        return lmHead;
    }

    /** Every parameter once (a tied LM head is the embedding). */
    public List<Parameter> parameters() {
        Set<Parameter> out = new LinkedHashSet<>();
        out.add(embed);
        for (DecoderLayer l : layers) out.addAll(l.parameters());
        out.add(finalNorm);
        out.add(lmHead);
        return new ArrayList<>(out);
    }

    public void zeroGrad() {
        for (Parameter p : parameters()) p.zeroGrad();
    }

    // ---------------------------------------------------------------- training / evaluation

    public TrainingContext newTrainingContext(int batchSize, int seqLen) {
        return new TrainingContext(this, batchSize, seqLen, false);
    }

    /** A context that, with gradientCheckpointing, recomputes each layer's activations during backward. */
    public TrainingContext newTrainingContext(int batchSize, int seqLen, boolean gradientCheckpointing) {
        return new TrainingContext(this, batchSize, seqLen, gradientCheckpointing);
    }

    /** Summed loss over counted targets and their number. */
    public record Loss(double sum, int count) {
        public double mean() {
            return count == 0 ? Double.NaN : sum / count;
        }
    }

    /** Forward only (evaluation): the loss of the batch loaded in {@code c}. */
    public Loss forward(TrainingContext c) {
        runForward(c);
        return headLoss(c.hFinal, c.targets, c.M, c.lmWs, c.lmBlockRows);
    }

    /** {@link #forward(TrainingContext)} adding the batch's summed loss and counted targets to acc (read once). */
    public void forward(TrainingContext c, LossSum acc) {
        runForward(c);
        ops.lmHeadCrossEntropyInto(acc, null, null, c.hFinal, lmHead.value(), c.targets, finalSoftcap, 0f, c.lmWs,
                c.lmBlockRows);
    }

    /**
     * Forward and backward: accumulates into the gradients of trainable parameters the gradient
     * of (summed loss × gradScale). gradScale &lt;= 0 means 1/count, i.e. the mean loss.
     */
    public Loss forwardBackward(TrainingContext c, float gradScale) {
        LossSum acc = new LossSum();
        forwardBackward(c, gradScale, acc);
        double[] r = acc.take();
        return new Loss(r[0], (int) r[1]);
    }

    /**
     * {@link #forwardBackward(TrainingContext, float)} adding the batch's summed loss and counted targets to acc
     * instead of returning them, so that a step reads its micro-batches' losses once (on a GPU, one wait).
     */
    public void forwardBackward(TrainingContext c, float gradScale, LossSum acc) {
        runForward(c);
        int count = c.countTargets();
        float scale = gradScale > 0 ? gradScale : (count == 0 ? 0f : 1f / count);
        TrainingContext.Scratch s = c.scratch;
        ops.fill(s.dh, 0f);
        ops.lmHeadCrossEntropyInto(acc, s.dh, lmHead.grad(), c.hFinal, lmHead.value(), c.targets, finalSoftcap, scale,
                c.lmWs, c.lmBlockRows);
        backwardFromHead(c);
    }

    /**
     * The LM head's summed loss of {@code rows} final hidden states h against targets (forward only), with the
     * family's logit soft-cap; ws holds blockRows × vocab floats.
     */
    public Loss headLoss(Tensor h, Tensor targets, int rows, Tensor ws, int blockRows) {
        double[] r = ops.lmHeadCrossEntropy(null, null, h.rows(rows), lmHead.value(), targets.rows(rows), finalSoftcap,
                0f, ws, blockRows);
        return new Loss(r[0], (int) r[1]);
    }

    /** Per-sequence summed log-likelihoods of the counted targets, and how many targets each has. */
    public record SequenceLogProbs(double[] logp, int[] counts) {}

    /**
     * Forward only: each sequence's log-likelihood of its targets. The activations stay in {@code c}, so
     * that {@link #backwardSequenceLogProbs} can follow once the weights of the sequences are known.
     */
    public SequenceLogProbs sequenceLogProbs(TrainingContext c) {
        runForward(c);
        return headLogProbs(c, null);
    }

    /**
     * The backward of a preceding {@link #sequenceLogProbs} on the same context: accumulates the gradient of
     * sum_b weights[b] * logp[b] into the trainable parameters. The LM head runs again (its logits are never
     * kept) but the layers do not.
     */
    public SequenceLogProbs backwardSequenceLogProbs(TrainingContext c, float[] weights) {
        if (weights.length != c.B) throw new IllegalArgumentException(weights.length + " weights for " + c.B + " sequences");
        ops.fill(c.scratch.dh, 0f);
        SequenceLogProbs r = headLogProbs(c, weights);
        backwardFromHead(c);
        return r;
    }

    private SequenceLogProbs headLogProbs(TrainingContext c, float[] weights) {
        double[] logp = new double[c.B];
        int[] counts = new int[c.B];
        ops.lmHeadSequenceLogProbs(logp, counts, weights == null ? null : c.scratch.dh,
                weights == null ? null : lmHead.grad(), c.hFinal, lmHead.value(), c.targets, weights, c.B,
                finalSoftcap, c.lmWs, c.lmBlockRows);
        return new SequenceLogProbs(logp, counts);
    }

    /** Backward from the gradient of the final hidden states in scratch.dh down to the embedding. */
    private void backwardFromHead(TrainingContext c) {
        int M = c.M;
        TrainingContext.Scratch s = c.scratch;
        ops.fill(c.dres, 0f);
        ops.rmsnormBackward(c.dres, finalNorm.grad(), s.dh, c.xs[layers.size()], finalNorm.value(), c.rstdFinal,
                normOffset);
        int L = layers.size();
        for (int l = L - 1; l >= 0; l--) {
            // the shared activations still hold the last layer's forward; earlier layers are
            // recomputed from their saved input (rewriting xs[l+1] with the same values)
            if (c.recompute && l < L - 1) layers.get(l).forward(c.pass, c.acts[l], c.xs[l], c.xs[l + 1], M);
            layers.get(l).backward(c, c.acts[l], c.xs[l]);
        }
        if (embed.grad() != null) {
            if (embedScale != 0f) ops.scale(c.dres, embedScale);
            ops.embeddingBackward(embed.grad(), c.dres, c.ids);
        }
    }

    private void runForward(TrainingContext c) {
        int M = c.M;
        embed(c.xs[0], c.ids, M);
        for (int l = 0; l < layers.size(); l++) layers.get(l).forward(c.pass, c.acts[l], c.xs[l], c.xs[l + 1], M);
        finalNorm(c.hFinal, c.rstdFinal, c.xs[layers.size()], M);
    }

    private void embed(Tensor out, Tensor ids, int rows) {
        out = out.rows(rows);
        ops.embeddingForward(out, ids.rows(rows), embed.value());
        if (embedScale != 0f) ops.scale(out, embedScale);
    }

    private void finalNorm(Tensor y, Tensor rstd, Tensor x, int rows) {
        ops.rmsnormForward(y.rows(rows), rstd.rows(rows), x.rows(rows), finalNorm.value(), cfg.rmsNormEps(), normOffset);
    }

    // ---------------------------------------------------------------- generation

    /** A KV cache for {@code slots} sequences of up to maxSeq tokens; steps of up to maxRows tokens. */
    public InferenceContext newInferenceContext(int slots, int maxSeq, int maxRows) {
        return new InferenceContext(this, slots, maxSeq, maxRows);
    }

    /**
     * One cached forward step over several sequences: sequence i (KV slot slots[i]) appends
     * tokens[i] at positions start[i]... Returns logits [n, V] of each sequence's last new token
     * (a view into the context, valid until the next step).
     */
    public Tensor step(InferenceContext c, int[] slots, int[][] tokens, int[] start) {
        return step(c, slots, tokens, start, null);
    }

    /**
     * {@link #step(InferenceContext, int[], int[][], int[])} where sequence i's rows use adapter slot
     * adapters[i] (-1: the base model) of projections that serve several adapters at once (a
     * {@code peft.LoraBank}); null means every row uses the base model.
     */
    public Tensor step(InferenceContext c, int[] slots, int[][] tokens, int[] start, int[] adapters) {
        int n = slots.length;
        if (tokens.length != n || start.length != n) throw new IllegalArgumentException("slots, tokens and start differ in length");
        if (adapters != null && adapters.length != n) throw new IllegalArgumentException("adapters and slots differ in length");
        int rows = 0;
        for (int[] t : tokens) rows += t.length;
        if (rows > c.maxRows) throw new IllegalArgumentException(rows + " tokens in one step exceed the context's " + c.maxRows);
        int[] ids = new int[rows], pos = new int[rows], segStart = new int[n];
        int[] rowAdapter = adapters == null ? null : new int[rows];
        int row = 0;
        for (int i = 0; i < n; i++) {
            int len = tokens[i].length;
            if (len == 0) throw new IllegalArgumentException("sequence " + i + " has no tokens in this step");
            if (slots[i] < 0 || slots[i] >= c.slots) throw new IllegalArgumentException("slot " + slots[i] + " out of range");
            if (start[i] + len > c.maxSeq) {
                throw new IllegalArgumentException("sequence would reach " + (start[i] + len)
                        + " tokens, beyond the context of " + c.maxSeq);
            }
            c.segRow[i] = row;
            c.segLen[i] = len;
            c.segSlot[i] = slots[i];
            segStart[i] = start[i];
            for (int j = 0; j < len; j++) {
                ids[row] = tokens[i][j];
                pos[row] = start[i] + j;
                if (rowAdapter != null) rowAdapter[row] = adapters[i];
                row++;
            }
        }
        c.segmentCount = n;
        ops.write(c.ids.slice(0, rows), ids);
        ops.write(c.positions.slice(0, rows), pos);
        ops.write(c.segStart.slice(0, n), segStart);
        c.rowAdapters.set(rowAdapter, rows);
        Tensor x = c.x.rows(rows);
        BlockBuffers buf = c.buf.rows(rows, c.maxRows, x, c.stepBuf);
        embed(x, c.ids, rows);
        for (DecoderLayer layer : layers) layer.forward(c.pass, buf, x, x, rows); // in place
        // only each sequence's last token needs logits
        for (int i = 0; i < n; i++) {
            int r = c.segRow[i] + c.segLen[i] - 1;
            ops.copy(c.last.slice(i, i + 1), c.x.slice(r, r + 1));
        }
        Tensor h = c.buf.h1.rows(n);
        finalNorm(h, c.buf.rstd1, c.last, n);
        Tensor logits = c.logits.slice(0, n);
        if (lmHeadPacked != null) {
            ops.linearForwardPacked(logits, h, lmHeadPacked, null, cfg.hiddenSize(), cfg.vocabSize());
        } else {
            ops.linearForward(logits, h, lmHead.value(), null);
        }
        if (finalSoftcap != 0f) ops.softcapForward(logits, logits, finalSoftcap);
        return logits;
    }

    /**
     * Decoding ({@link #step}) from bf16 copies of the projection and LM-head weights: half the bytes
     * streamed per token, products summed in fp32. Training and evaluation keep the fp32 weights,
     * which stay loaded. Returns the bytes added; 0 where this backend or CPU has no bf16 products.
     */
    public long packForDecoding() {
        long bytes = 0;
        for (DecoderLayer l : layers) bytes += l.packForDecoding();
        if (lmHeadPacked == null) {
            lmHeadPacked = ops.packWeightsBf16(lmHead.value());
            if (lmHeadPacked != null) bytes += lmHeadPacked.numel() * 2;
        }
        return bytes;
    }

    @Override
    public void close() {
        if (lmHeadPacked != null) lmHeadPacked.close();
        for (DecoderLayer l : layers) l.close();
        for (Parameter p : parameters()) p.close();
        arena.close();
    }
}
