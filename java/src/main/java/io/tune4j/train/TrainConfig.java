package io.tune4j.train;

import io.tune4j.io.AtomicFiles;
import io.tune4j.ops.MatmulPrecision;
import io.tune4j.train.objective.Objective;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonPOJOBuilder;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Every setting of a training run. Written next to the run's outputs and into each checkpoint, so
 * that the file alone reproduces the run (together with the model, data and seed it names).
 * Read from YAML or JSON with {@link #load}; fields left out take the defaults of {@link Builder}.
 *
 * @param lr peak learning rate
 * @param minLr learning rate the linear/cosine decay ends at
 * @param schedule shape of the learning rate after warm-up
 * @param warmupSteps steps of linear warm-up from lr/warmupSteps to lr
 * @param maxSteps optimiser steps to run; 0 = as many as {@code epochs} passes over the data give
 * @param epochs passes over the training data when maxSteps is 0
 * @param batchSize sequences per micro-batch; 0 = whatever the batch source yields (checked otherwise)
 * @param seqLen tokens per sequence; 0 = whatever the batch source yields (checked otherwise)
 * @param gradAccumSteps micro-batches per optimiser step; the loss is the mean over all their target tokens
 * @param maxGradNorm global gradient-norm clip; 0 = no clipping
 * @param weightDecay decoupled AdamW weight decay
 * @param noDecay regular expressions; parameters whose name contains a match are not decayed
 *                (1-D parameters, i.e. norms and biases, never are)
 * @param seed seed of the run's random stream (data order and initialisation are seeded by their owners)
 * @param threads native threads; 0 = leave the current setting (all cores by default)
 * @param checkpointEvery steps between checkpoints; 0 = none
 * @param keepCheckpoints checkpoints kept on disk (oldest deleted first); 0 = all
 * @param evalEvery steps between validation passes; -1 = about ten passes a run ({@link #evalInterval}, the default);
 *                  0 = only at the end
 * @param evalBatches validation batches per pass; 0 = the whole validation set
 * @param earlyStoppingPatience validation passes without improvement before stopping; 0 = never stop early
 * @param select which weights a run with validation ends with: those of the step with the lowest validation loss
 *               (BEST), or of the last step (LAST)
 * @param gradientCheckpointing recompute each layer's activations in backward instead of keeping them
 * @param precision matrix-product precision of the training steps (fp32, or bf16 mixed precision)
 * @param logEvery steps between log lines when stderr is not a terminal
 * @param objective sft (token cross-entropy), or dpo / orpo over (chosen, rejected) pairs
 * @param beta DPO: strength of the tie to the reference (the scale of the implicit reward)
 * @param orpoLambda ORPO: weight of the odds-ratio term next to the chosen response's NLL
 */
@JsonDeserialize(builder = TrainConfig.Builder.class)
public record TrainConfig(
        double lr, double minLr, Schedule schedule, int warmupSteps, int maxSteps, int epochs,
        int batchSize, int seqLen, int gradAccumSteps, double maxGradNorm, double weightDecay,
        List<String> noDecay, double beta1, double beta2, double eps, long seed, int threads,
        int checkpointEvery, int keepCheckpoints, int evalEvery, int evalBatches, int earlyStoppingPatience,
        Select select, boolean gradientCheckpointing, MatmulPrecision precision, int logEvery,
        Objective objective, double beta, double orpoLambda) {

    public enum Schedule {
        @JsonProperty("constant") CONSTANT,
        @JsonProperty("linear") LINEAR,
        @JsonProperty("cosine") COSINE
    }

    /** {@link #evalEvery} value: validate only after the last step (what 0 meant in every run file before auto existed). */
    public static final int EVAL_AT_END = 0;
    /** {@link #evalEvery} value: about ten validation passes a run, the default. */
    public static final int EVAL_AUTO = -1;

    /** Which weights become the result of a run that has validation data. */
    public enum Select {
        @JsonProperty("best") BEST,
        @JsonProperty("last") LAST;

        public static Select parse(String s) {
            return switch (s.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "best" -> BEST;
                case "last" -> LAST;
                default -> throw new IllegalArgumentException("select: expected best or last, got '" + s + "'");
            };
        }
    }

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    static final ObjectMapper JSON = new ObjectMapper();

    public TrainConfig {
        noDecay = List.copyOf(noDecay);
        require(lr >= 0 && Double.isFinite(lr), "lr", ">= 0", lr);
        require(minLr >= 0 && minLr <= lr || minLr == 0, "minLr", "between 0 and lr", minLr);
        require(schedule != null, "schedule", "constant, linear or cosine", null);
        require(warmupSteps >= 0, "warmupSteps", ">= 0", warmupSteps);
        require(maxSteps >= 0, "maxSteps", ">= 0", maxSteps);
        require(maxSteps > 0 || epochs >= 1, "epochs", ">= 1 when maxSteps is 0", epochs);
        require(batchSize >= 0, "batchSize", ">= 0", batchSize);
        require(seqLen >= 0, "seqLen", ">= 0", seqLen);
        require(gradAccumSteps >= 1, "gradAccumSteps", ">= 1", gradAccumSteps);
        require(maxGradNorm >= 0, "maxGradNorm", ">= 0 (0 = no clipping)", maxGradNorm);
        require(weightDecay >= 0, "weightDecay", ">= 0", weightDecay);
        require(beta1 >= 0 && beta1 < 1, "beta1", "in [0, 1)", beta1);
        require(beta2 >= 0 && beta2 < 1, "beta2", "in [0, 1)", beta2);
        require(eps > 0, "eps", "> 0", eps);
        require(threads >= 0, "threads", ">= 0 (0 = all cores)", threads);
        require(checkpointEvery >= 0, "checkpointEvery", ">= 0", checkpointEvery);
        require(keepCheckpoints >= 0, "keepCheckpoints", ">= 0 (0 = keep all)", keepCheckpoints);
        require(evalEvery >= EVAL_AUTO, "evalEvery", ">= 1, 0 (only at the end) or -1 (about ten passes a run)", evalEvery);
        require(select != null, "select", "best or last", null);
        require(evalBatches >= 0, "evalBatches", ">= 0", evalBatches);
        require(earlyStoppingPatience >= 0, "earlyStoppingPatience", ">= 0", earlyStoppingPatience);
        require(logEvery >= 1, "logEvery", ">= 1", logEvery);
        require(precision != null, "precision", "fp32 or bf16", null);
        require(objective != null, "objective", "sft, dpo or orpo", null);
        require(beta > 0 && Double.isFinite(beta), "beta", "> 0", beta);
        require(orpoLambda >= 0 && Double.isFinite(orpoLambda), "orpoLambda", ">= 0", orpoLambda);
        for (String p : noDecay) {
            try {
                Pattern.compile(p);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("noDecay: '" + p + "' is not a regular expression: " + e.getDescription());
            }
        }
    }

    private static void require(boolean ok, String field, String expected, Object got) {
        if (!ok) throw new IllegalArgumentException(field + ": expected " + expected + ", got " + got);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    public static TrainConfig defaults() {
        return builder().build();
    }

    /**
     * Steps between validation passes of a run of totalSteps: evalEvery, or for EVAL_AUTO about a tenth
     * of the run (early enough to catch the best step of a run that starts to overfit), or
     * totalSteps when validating only at the end.
     */
    public int evalInterval(int totalSteps) {
        if (evalEvery > 0) return evalEvery;
        if (evalEvery == EVAL_AT_END) return Math.max(1, totalSteps);
        return Math.max(1, (totalSteps + 9) / 10);
    }

    /** Whether AdamW decays this parameter: never 1-D ones, nor names matching a noDecay pattern. */
    public boolean decays(String name, int rank) {
        if (weightDecay == 0 || rank <= 1) return false;
        for (String p : noDecay) if (Pattern.compile(p).matcher(name).find()) return false;
        return true;
    }

    // ---------------------------------------------------------------- files

    /** Reads YAML (or JSON, by extension .json); errors name file:line:column and the field. */
    public static TrainConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": file not found");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(text, file.toString(), file.toString().endsWith(".json"));
    }

    public static TrainConfig fromYaml(String yaml) {
        return parse(yaml, "<yaml>", false);
    }

    public static TrainConfig fromJson(String json) {
        return parse(json, "<json>", true);
    }

    private static TrainConfig parse(String text, String source, boolean json) {
        try {
            TrainConfig c = (json ? JSON : YAML).readValue(text, TrainConfig.class);
            if (c == null) throw new IllegalArgumentException(source + ": empty training configuration");
            return c;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? source : source + ":" + at.getLineNr() + ":" + at.getColumnNr();
            Throwable cause = e.getCause() instanceof IllegalArgumentException ? e.getCause() : null;
            String what = cause != null ? cause.getMessage() : firstLine(e.getOriginalMessage());
            throw new IllegalArgumentException(where + ": " + what, e);
        }
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public String toYaml() {
        try {
            return YAML.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the configuration as YAML, atomically. */
    public void save(Path file) {
        AtomicFiles.write(file, toYaml().getBytes(StandardCharsets.UTF_8));
    }

    /** Defaults for every field; also what YAML/JSON files are read through. */
    @JsonPOJOBuilder(withPrefix = "")
    public static final class Builder {
        private double lr = 3e-4;
        private double minLr = 0;
        private Schedule schedule = Schedule.COSINE;
        private int warmupSteps = 0;
        private int maxSteps = 0;
        private int epochs = 1;
        private int batchSize = 0;
        private int seqLen = 0;
        private int gradAccumSteps = 1;
        private double maxGradNorm = 1.0;
        private double weightDecay = 0.0;
        private List<String> noDecay = List.of("norm", "bias");
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private long seed = 42;
        private int threads = 0;
        private int checkpointEvery = 0;
        private int keepCheckpoints = 2;
        private int evalEvery = EVAL_AUTO;
        private int evalBatches = 0;
        private int earlyStoppingPatience = 0;
        private Select select = Select.BEST;
        private boolean gradientCheckpointing = false;
        private MatmulPrecision precision = MatmulPrecision.FP32;
        private int logEvery = 10;
        private Objective objective = Objective.SFT;
        private double beta = 0.1;
        private double orpoLambda = 0.1;

        Builder() {}

        Builder(TrainConfig c) {
            lr = c.lr; minLr = c.minLr; schedule = c.schedule; warmupSteps = c.warmupSteps; maxSteps = c.maxSteps;
            epochs = c.epochs; batchSize = c.batchSize; seqLen = c.seqLen; gradAccumSteps = c.gradAccumSteps;
            maxGradNorm = c.maxGradNorm; weightDecay = c.weightDecay; noDecay = c.noDecay; beta1 = c.beta1;
            beta2 = c.beta2; eps = c.eps; seed = c.seed; threads = c.threads; checkpointEvery = c.checkpointEvery;
            keepCheckpoints = c.keepCheckpoints; evalEvery = c.evalEvery; evalBatches = c.evalBatches;
            earlyStoppingPatience = c.earlyStoppingPatience; select = c.select; gradientCheckpointing = c.gradientCheckpointing;
            precision = c.precision;
            logEvery = c.logEvery;
            objective = c.objective; beta = c.beta; orpoLambda = c.orpoLambda;
        }

        public Builder lr(double v) { lr = v; return this; }
        public Builder minLr(double v) { minLr = v; return this; }
        public Builder schedule(Schedule v) { schedule = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder maxSteps(int v) { maxSteps = v; return this; }
        public Builder epochs(int v) { epochs = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder seqLen(int v) { seqLen = v; return this; }
        public Builder gradAccumSteps(int v) { gradAccumSteps = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder noDecay(List<String> v) { noDecay = v == null ? List.of() : v; return this; }
        public Builder beta1(double v) { beta1 = v; return this; }
        public Builder beta2(double v) { beta2 = v; return this; }
        public Builder eps(double v) { eps = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder keepCheckpoints(int v) { keepCheckpoints = v; return this; }
        public Builder evalEvery(int v) { evalEvery = v; return this; }
        public Builder evalBatches(int v) { evalBatches = v; return this; }
        public Builder earlyStoppingPatience(int v) { earlyStoppingPatience = v; return this; }
        public Builder select(Select v) { select = v; return this; }
        public Builder gradientCheckpointing(boolean v) { gradientCheckpointing = v; return this; }
        public Builder precision(MatmulPrecision v) { precision = v; return this; }
        public Builder logEvery(int v) { logEvery = v; return this; }
        public Builder objective(Objective v) { objective = v; return this; }
        public Builder beta(double v) { beta = v; return this; }
        public Builder orpoLambda(double v) { orpoLambda = v; return this; }

        public TrainConfig build() {
            return new TrainConfig(lr, minLr, schedule, warmupSteps, maxSteps, epochs, batchSize, seqLen,
                    gradAccumSteps, maxGradNorm, weightDecay, noDecay, beta1, beta2, eps, seed, threads,
                    checkpointEvery, keepCheckpoints, evalEvery, evalBatches, earlyStoppingPatience, select,
                    gradientCheckpointing, precision, logEvery, objective, beta, orpoLambda);
        }
    }
}
