package io.tune4j.cli;

import io.tune4j.finetune.DataSpec;
import io.tune4j.finetune.EvalSpec;
import io.tune4j.finetune.FineTuneResult;
import io.tune4j.finetune.FineTuneRun;
import io.tune4j.finetune.FineTuneSpec;
import io.tune4j.finetune.MethodSpec;
import io.tune4j.ops.MatmulPrecision;
import io.tune4j.peft.MethodOption;
import io.tune4j.peft.MethodOptions;
import io.tune4j.peft.MethodPlugin;
import io.tune4j.peft.Methods;
import io.tune4j.train.TrainConfig;
import io.tune4j.train.objective.Objective;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune a model on a dataset and report base vs tuned on the validation set.",
                "DIR gets adapter/ (PEFT layout) or model/ (full), metrics.jsonl, loss.png, eval.json, data-report.json, "
                        + "checkpoints/ and run.yaml (which --config reproduces)."})
final class FineTuneCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "a run file (YAML or JSON, e.g. a previous run.yaml); "
            + "other flags are ignored except --out and --resume")
    Path config;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH", description = "model directory, llama2.c .bin, or hub id")
    String model;
    @Option(names = "--tokenizer", paramLabel = "FILE") String tokenizer;
    @Option(names = "--data", paramLabel = "FILE", description = "training data: .json, .jsonl, .csv, .tsv or .txt") String data;
    @Option(names = "--val-data", paramLabel = "FILE", description = "validation data") String valData;
    @Option(names = "--val-split", paramLabel = "F", description = "fraction of --data held out for validation") Double valSplit;
    @Option(names = "--method", defaultValue = "lora", description = "a registered method: lora, dora, adapter, prefix, full, "
            + "... (default: ${DEFAULT-VALUE}); an unknown name lists them")
    String method;
    @Option(names = "--method-option", paramLabel = "NAME=VALUE", description = "a setting of the method by its run.yaml "
            + "name (e.g. r=16, targetModules=q_proj,v_proj); repeatable; a wrong name lists the method's settings")
    List<String> methodOptions;
    @Mixin
    DataOptions dataOptions;
    @Mixin
    DeviceOptions device;
    @Option(names = "--objective", paramLabel = "NAME", description = "sft (default), dpo or orpo; dpo and orpo train on "
            + "preference pairs (prompt/chosen/rejected records, or chats with a chosen and a rejected final turn)")
    String objective;
    @Option(names = "--beta", paramLabel = "B", description = "DPO: tie to the reference (default 0.1)") Double beta;
    @Option(names = "--orpo-lambda", paramLabel = "L", description = "ORPO: weight of the odds-ratio term (default 0.1)")
    Double orpoLambda;
    @Option(names = "--max-steps", description = "optimiser steps (default: 1 epoch)") Integer maxSteps;
    @Option(names = "--epochs") Integer epochs;
    @Option(names = "--lr", description = "peak learning rate") Double lr;
    @Option(names = "--schedule", description = "constant, linear or cosine") String schedule;
    @Option(names = "--warmup", description = "warm-up steps") Integer warmup;
    @Option(names = "--batch-size") Integer batchSize;
    @Option(names = "--grad-accum", description = "micro-batches per optimiser step") Integer gradAccum;
    @Option(names = "--weight-decay") Double weightDecay;
    @Option(names = "--lora-r") Integer loraR;
    @Option(names = "--lora-alpha") Float loraAlpha;
    @Option(names = "--lora-dropout") Float loraDropout;
    @Option(names = "--target-modules", split = ",", description = "e.g. q_proj,v_proj") List<String> targetModules;
    @Option(names = "--rslora") Boolean rsLora;
    @Option(names = "--modules-to-save", split = ",", paramLabel = "NAME,...", description = "LoRA: modules that train whole "
            + "and are saved with the adapter (PEFT's modules_to_save; RMSNorm weights: norm, input_layernorm, "
            + "post_attention_layernorm)") List<String> modulesToSave;
    @Option(names = "--adapter-kind", description = "houlsby or pfeiffer") String adapterKind;
    @Option(names = "--bottleneck") Integer bottleneck;
    @Option(names = "--virtual-tokens") Integer virtualTokens;
    @Option(names = "--prefix-projection") Boolean prefixProjection;
    @Option(names = "--eval-metrics", split = ",", description = "loss,perplexity,accuracy,exact_match,rouge_l,bleu")
    List<String> evalMetrics;
    @Option(names = "--eval-limit", description = "validation records for generation metrics (default 500)") Integer evalLimit;
    @Option(names = "--checkpoint-every") Integer checkpointEvery;
    @Option(names = "--eval-every", paramLabel = "N", description = "steps between validation passes (default: about ten "
            + "passes a run; 0 = only at the end)") Integer evalEvery;
    @Option(names = "--select", paramLabel = "WHICH", description = "best (default: the step with the lowest validation "
            + "loss becomes the result) or last") String select;
    @Option(names = "--early-stopping-patience", paramLabel = "N", description = "stop after N validation passes without "
            + "improvement (default: never)") Integer earlyStoppingPatience;
    @Option(names = "--gradient-checkpointing") boolean gradientCheckpointing;
    @Option(names = "--precision", description = "matrix products: fp32 (default) or bf16 (mixed precision; CPUs with AMX or AVX512-BF16)")
    String precision;
    @Option(names = "--seed", defaultValue = "42") long seed;
    @Option(names = "--resume", description = "continue from the newest checkpoint in --out") boolean resume;
    @Option(names = "--out", paramLabel = "DIR", description = "output directory") String out;

    @Override
    public Integer call() {
        FineTuneSpec spec = config != null ? FineTuneSpec.load(config) : fromFlags();
        if (out != null) spec = spec.withOut(out);
        FineTuneResult r = new FineTuneRun(spec, System.err).device(device.choice()).resume(resume).progress(System.console() != null).run();
        System.out.println(r.evaluation().toJson());
        System.err.println("tune4j: " + r.training().status().name().toLowerCase() + " after " + r.training().steps()
                + " steps; result in " + (r.resultDir() == null ? "(none)" : r.resultDir()));
        return 0;
    }

    /**
     * The method flags by the names of the settings they set; the method's schema refuses a flag that
     * is not one of its settings (e.g. --bottleneck for lora), naming the flag.
     */
    private Map<String, Object> methodSettings() {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, String> flagOf = new LinkedHashMap<>();
        Object[][] flags = {{"r", "--lora-r", loraR}, {"alpha", "--lora-alpha", loraAlpha}, {"dropout", "--lora-dropout", loraDropout},
                {"targetModules", "--target-modules", targetModules}, {"rsLora", "--rslora", rsLora},
                {"modulesToSave", "--modules-to-save", modulesToSave}, {"adapterKind", "--adapter-kind", adapterKind},
                {"bottleneck", "--bottleneck", bottleneck}, {"virtualTokens", "--virtual-tokens", virtualTokens},
                {"prefixProjection", "--prefix-projection", prefixProjection}};
        for (Object[] f : flags) {
            if (f[2] == null) continue;
            m.put((String) f[0], f[2]);
            flagOf.put((String) f[0], (String) f[1]);
        }
        if (methodOptions != null) {
            for (String kv : methodOptions) {
                int eq = kv.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("--method-option expects NAME=VALUE, got '" + kv + "'");
                String k = kv.substring(0, eq).strip();
                if (m.containsKey(k)) {
                    throw new IllegalArgumentException("method setting '" + k + "' is given twice (" + flagOf.getOrDefault(k,
                            "--method-option") + " and --method-option)");
                }
                m.put(k, kv.substring(eq + 1).strip());
                flagOf.put(k, "--method-option " + k);
            }
        }
        MethodPlugin plugin = Methods.byName(method.toLowerCase(java.util.Locale.ROOT));
        for (String k : m.keySet()) {
            if (plugin.option(k) == null) {
                List<String> known = plugin.options().stream().map(MethodOption::name).toList();
                throw new IllegalArgumentException(flagOf.get(k) + " is not a setting of method " + plugin.name()
                        + " (its settings: " + (known.isEmpty() ? "none" : String.join(", ", known)) + ")"
                        + MethodOptions.ownersOf(k));
            }
        }
        return m;
    }

    private FineTuneSpec fromFlags() {
        if (model == null) throw new IllegalArgumentException("--model is required (or --config FILE)");
        if (data == null) throw new IllegalArgumentException("--data is required (or --config FILE)");
        if (out == null) throw new IllegalArgumentException("--out is required");
        DataSpec d = dataOptions.spec(data, valData, valSplit);
        MethodSpec ms = new MethodSpec(method, methodSettings());
        TrainConfig.Builder tb = TrainConfig.builder().seed(seed);
        if (maxSteps != null) tb.maxSteps(maxSteps);
        if (epochs != null) tb.epochs(epochs);
        if (lr != null) tb.lr(lr);
        if (schedule != null) tb.schedule(TrainConfig.Schedule.valueOf(schedule.toUpperCase(java.util.Locale.ROOT)));
        if (warmup != null) tb.warmupSteps(warmup);
        if (batchSize != null) tb.batchSize(batchSize);
        if (gradAccum != null) tb.gradAccumSteps(gradAccum);
        if (weightDecay != null) tb.weightDecay(weightDecay);
        if (checkpointEvery != null) tb.checkpointEvery(checkpointEvery);
        if (evalEvery != null) tb.evalEvery(evalEvery);
        if (select != null) tb.select(TrainConfig.Select.parse(select));
        if (earlyStoppingPatience != null) tb.earlyStoppingPatience(earlyStoppingPatience);
        tb.gradientCheckpointing(gradientCheckpointing);
        if (precision != null) tb.precision(MatmulPrecision.parse(precision));
        if (objective != null) tb.objective(Objective.parse(objective));
        if (beta != null) tb.beta(beta);
        if (orpoLambda != null) tb.orpoLambda(orpoLambda);
        return new FineTuneSpec(model, tokenizer, d, ms, tb.build(), new EvalSpec(evalMetrics, evalLimit, null), out);
    }
}
