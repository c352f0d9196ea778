package io.tune4j.server.jobs;

import io.tune4j.finetune.MethodSpec;
import io.tune4j.peft.MethodOption;
import io.tune4j.peft.Methods;
import io.tune4j.train.TrainConfig;
import io.tune4j.train.objective.Objective;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A job's hyperparameters: OpenAI's (n_epochs, batch_size, learning_rate_multiplier, each may be
 * "auto") plus tune4j's, checked when the job is created so that a bad value is a 400 naming it,
 * not a failed job later. The same map, stored in job.json, rebuilds the same run after a restart.
 */
final class JobHyperparameters {
    /** The registered methods (ServiceLoader), so a method plug-in on the classpath is a job type too. */
    static List<String> methods() {
        return Methods.names();
    }

    private static final Set<String> COMMON = Set.of("n_epochs", "batch_size", "learning_rate_multiplier", "learning_rate",
            "max_steps", "seq_len", "warmup_steps", "weight_decay", "lr_scheduler", "grad_accum_steps", "checkpoint_every",
            "eval_every", "template", "pack", "truncation", "select", "early_stopping_patience");

    /** The method's settings the jobs API exposes, by hyperparameter name. */
    private static Map<String, MethodOption> jobOptions(String method) {
        Map<String, MethodOption> m = new LinkedHashMap<>();
        for (MethodOption o : Methods.byName(method).options()) if (o.jobName() != null) m.put(o.jobName(), o);
        return m;
    }

    static final int AUTO_EPOCHS = 3;
    static final int AUTO_BATCH = 8;
    static final int DEFAULT_CHECKPOINT_EVERY = 50;

    final String method;
    /** sft, or dpo for OpenAI's method type "dpo" (LoRA trained on preference pairs). */
    final Objective objective;
    private final Map<String, Object> given;
    private final int epochs;
    private final int maxSteps;
    private final int batchSize;
    private final Double multiplier;
    private final double lr;
    private final Integer seqLen;
    private final int checkpointEvery;

    private JobHyperparameters(String method, Objective objective, Map<String, Object> given, int contextLimit) {
        this.method = method;
        this.objective = objective;
        this.given = given;
        Set<String> allowed = new TreeSet<>(COMMON);
        Map<String, MethodOption> options = jobOptions(method);
        allowed.addAll(options.keySet());
        if (objective == Objective.DPO) allowed.add("beta");
        for (String k : given.keySet()) {
            if (!allowed.contains(k)) {
                throw invalid(k, "unknown hyperparameter '" + k + "' for method " + method + " (known: "
                        + String.join(", ", allowed) + ")");
            }
        }
        epochs = autoOr("n_epochs", AUTO_EPOCHS, 1, 1000);
        batchSize = autoOr("batch_size", AUTO_BATCH, 1, 1024);
        maxSteps = intOr("max_steps", 0, 1, 10_000_000);
        if (given.get("learning_rate") != null && given.get("learning_rate_multiplier") != null
                && !"auto".equals(given.get("learning_rate_multiplier"))) {
            throw invalid("learning_rate", "give learning_rate or learning_rate_multiplier, not both");
        }
        multiplier = "auto".equals(given.get("learning_rate_multiplier")) ? null : positive("learning_rate_multiplier");
        Double explicit = positive("learning_rate");
        lr = explicit != null ? explicit : baseLearningRate(method) * (multiplier == null ? 1 : multiplier);
        Integer sl = given.get("seq_len") == null ? null : intOr("seq_len", 0, 2, Integer.MAX_VALUE);
        if (sl != null && sl > contextLimit) {
            throw invalid("seq_len", "seq_len " + sl + " exceeds the model's context of " + contextLimit + " tokens");
        }
        seqLen = sl;
        checkpointEvery = intOr("checkpoint_every", DEFAULT_CHECKPOINT_EVERY, 1, Integer.MAX_VALUE);
        intOr("warmup_steps", 0, 0, Integer.MAX_VALUE);
        intOr("grad_accum_steps", 1, 1, 1024);
        intOr("eval_every", 0, 0, Integer.MAX_VALUE);
        number("weight_decay", 0, 0, 10);
        string("lr_scheduler", List.of("constant", "linear", "cosine"));
        string("template", null);
        bool("pack");
        string("truncation", List.of("keep-response", "left", "right", "drop"));
        string("select", List.of("best", "last"));
        intOr("early_stopping_patience", 0, 0, Integer.MAX_VALUE);
        for (MethodOption o : options.values()) methodValue(o);
        number("beta", 0.1, 1e-6, 1e6);
        if (objective == Objective.DPO && batchSize % 2 != 0) {
            throw invalid("batch_size", "dpo batches hold (chosen, rejected) row pairs: batch_size must be even, got " + batchSize);
        }
    }

    /**
     * @param method lora, adapter, prefix or full (null: lora; OpenAI's "supervised" means lora)
     * @param contextLimit the base model's context, the largest seq_len
     */
    static JobHyperparameters parse(String method, Map<String, Object> raw, int contextLimit) {
        String m = method == null || method.equals("supervised") ? "lora" : method.toLowerCase(Locale.ROOT);
        // OpenAI's preference fine-tuning: here LoRA with the DPO objective, its reference the base model
        Objective objective = m.equals("dpo") ? Objective.DPO : Objective.SFT;
        if (objective == Objective.DPO) m = "lora";
        if (!Methods.exists(m)) {
            throw new JobException(JobException.Kind.INVALID, "method.type", "method type must be supervised, dpo, "
                    + String.join(", ", methods()) + ", got '" + method + "'");
        }
        Map<String, Object> given = new LinkedHashMap<>();
        if (raw != null) raw.forEach((k, v) -> { if (v != null) given.put(k, v); });
        return new JobHyperparameters(m, objective, given, contextLimit);
    }

    /** The starting learning rate of each method before the multiplier: adapters and prefixes train fewer weights, harder. */
    static double baseLearningRate(String method) {
        return Methods.byName(method).defaultLearningRate();
    }

    /** The values as given (what job.json stores and a restart re-parses). */
    Map<String, Object> given() {
        return given;
    }

    /** Every value the job trains with, defaults filled in, as the job object shows them. */
    Map<String, Object> effective() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n_epochs", maxSteps > 0 && given.get("n_epochs") == null ? "auto" : epochs);
        m.put("batch_size", batchSize);
        m.put("learning_rate_multiplier", multiplier == null ? "auto" : multiplier);
        m.put("learning_rate", lr);
        if (maxSteps > 0) m.put("max_steps", maxSteps);
        if (seqLen != null) m.put("seq_len", seqLen);
        m.put("checkpoint_every", checkpointEvery);
        if (objective == Objective.DPO) m.put("beta", number("beta", 0.1, 1e-6, 1e6));
        given.forEach(m::putIfAbsent);
        return m;
    }

    String template() {
        return (String) given.get("template");
    }

    Boolean pack() {
        return (Boolean) given.get("pack");
    }

    /** keep-response (the default), left, right or drop; null: the default. */
    String truncation() {
        return (String) given.get("truncation");
    }

    Integer seqLen() {
        return seqLen;
    }

    /** The training settings; checkpoints are always on, since a restart resumes from them. */
    TrainConfig trainConfig(long seed) {
        TrainConfig.Builder b = TrainConfig.builder().seed(seed).lr(lr).batchSize(batchSize).checkpointEvery(checkpointEvery)
                .keepCheckpoints(2);
        if (maxSteps > 0) b.maxSteps(maxSteps); else b.epochs(epochs);
        b.objective(objective);
        if (given.get("beta") != null) b.beta(number("beta", 0.1, 1e-6, 1e6));
        if (seqLen != null) b.seqLen(seqLen);
        if (given.get("warmup_steps") != null) b.warmupSteps(intOr("warmup_steps", 0, 0, Integer.MAX_VALUE));
        if (given.get("grad_accum_steps") != null) b.gradAccumSteps(intOr("grad_accum_steps", 1, 1, 1024));
        if (given.get("eval_every") != null) b.evalEvery(intOr("eval_every", 0, 0, Integer.MAX_VALUE));
        if (given.get("select") != null) {
            b.select(TrainConfig.Select.valueOf(((String) given.get("select")).toUpperCase(Locale.ROOT)));
        }
        if (given.get("early_stopping_patience") != null) {
            b.earlyStoppingPatience(intOr("early_stopping_patience", 0, 0, Integer.MAX_VALUE));
        }
        if (given.get("weight_decay") != null) b.weightDecay(number("weight_decay", 0, 0, 10));
        if (given.get("lr_scheduler") != null) {
            b.schedule(TrainConfig.Schedule.valueOf(((String) given.get("lr_scheduler")).toUpperCase(Locale.ROOT)));
        }
        return b.build();
    }

    MethodSpec methodSpec() {
        Map<String, Object> settings = new LinkedHashMap<>();
        for (MethodOption o : jobOptions(method).values()) {
            Object v = methodValue(o);
            if (v != null) settings.put(o.name(), v);
        }
        return new MethodSpec(method, settings);
    }

    /** A method setting given as hyperparameter o.jobName(), checked as the method declares it (null: not given). */
    private Object methodValue(MethodOption o) {
        String key = o.jobName();
        Object v = given.get(key);
        if (v == null) return null;
        return switch (o.kind()) {
            case INT -> intOr(key, 0, (int) (double) o.min(), (int) Math.min(Integer.MAX_VALUE, o.max()));
            case FLOAT -> (float) number(key, 0, o.min(), o.max());
            case BOOL -> {
                bool(key);
                yield v;
            }
            case STRING -> {
                string(key, o.choices().isEmpty() ? null : o.choices());
                yield v;
            }
            case LIST -> modules(key);
        };
    }

    // ---------------------------------------------------------------- checks

    private int autoOr(String key, int auto, int min, int max) {
        if ("auto".equals(given.get(key))) return auto;
        return intOr(key, auto, min, max);
    }

    private int intOr(String key, int dflt, int min, int max) {
        Object v = given.get(key);
        if (v == null) return dflt;
        long n;
        if (v instanceof Integer || v instanceof Long || v instanceof Short) {
            n = ((Number) v).longValue();
        } else if (v instanceof Number x && x.doubleValue() == Math.rint(x.doubleValue())) {
            n = (long) x.doubleValue();
        } else {
            throw invalid(key, key + " must be an integer" + (key.equals("n_epochs") || key.equals("batch_size") ? " or \"auto\"" : "")
                    + ", got " + describe(v));
        }
        if (n < min || n > max) throw invalid(key, key + " must be between " + min + " and " + max + ", got " + n);
        return (int) n;
    }

    private double number(String key, double dflt, double min, double max) {
        Object v = given.get(key);
        if (v == null) return dflt;
        if (!(v instanceof Number x) || !Double.isFinite(x.doubleValue())) throw invalid(key, key + " must be a number, got " + describe(v));
        double d = x.doubleValue();
        if (d < min || d > max) throw invalid(key, key + " must be between " + min + " and " + max + ", got " + d);
        return d;
    }

    private Double positive(String key) {
        Object v = given.get(key);
        if (v == null) return null;
        double d = number(key, 0, 0, 1e6);
        if (d <= 0) throw invalid(key, key + " must be > 0, got " + d);
        return d;
    }

    private void string(String key, List<String> choices) {
        Object v = given.get(key);
        if (v == null) return;
        if (!(v instanceof String s)) throw invalid(key, key + " must be a string, got " + describe(v));
        if (choices != null && !choices.contains(s)) throw invalid(key, key + " must be one of " + choices + ", got '" + s + "'");
    }

    private void bool(String key) {
        Object v = given.get(key);
        if (v != null && !(v instanceof Boolean)) throw invalid(key, key + " must be true or false, got " + describe(v));
    }

    private List<String> modules(String key) {
        Object v = given.get(key);
        if (v == null) return null;
        List<String> out = new ArrayList<>();
        if (v instanceof String s) {
            for (String x : s.split(",")) if (!x.isBlank()) out.add(x.strip());
        } else if (v instanceof List<?> l) {
            for (Object x : l) {
                if (!(x instanceof String s) || s.isBlank()) throw invalid(key, key + " must be a list of module names");
                out.add(s);
            }
        } else {
            throw invalid(key, key + " must be a list of module names, got " + describe(v));
        }
        if (out.isEmpty()) throw invalid(key, key + " must name at least one module");
        return out;
    }

    private static String describe(Object v) {
        return v instanceof String s ? "'" + s + "'" : String.valueOf(v);
    }

    private static JobException invalid(String key, String message) {
        return new JobException(JobException.Kind.INVALID, "hyperparameters." + key, message);
    }
}
