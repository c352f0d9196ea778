package io.tune4j.cli;

import io.tune4j.generate.GenerationConfig;
import io.tune4j.generate.GenerationResult;
import io.tune4j.generate.Generator;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.ModelLocator;
import io.tune4j.ops.MatmulPrecision;
import io.tune4j.ops.SamplingParams;
import io.tune4j.peft.Adapters;
import io.tune4j.peft.FineTuneMethod;
import java.io.PrintStream;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt. Prints only the generated text on stdout (streamed); logs go to stderr.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    DeviceOptions device;

    @Option(names = {"-p", "--prompt"}, required = true, description = "the prompt text")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "256", description = "most new tokens (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "keep the k most likely tokens; 0 = off")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "nucleus sampling mass; 1 = off")
    float topP;

    @Option(names = "--repetition-penalty", defaultValue = "1", description = "penalise tokens already seen; 1 = off")
    float repetitionPenalty;

    @Option(names = "--seed", defaultValue = "0", description = "random seed for sampling")
    long seed;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "fine-tuning result to apply: a LoRA or prefix-tuning directory (PEFT layout) or tune4j adapters")
    Path adapter;

    @Option(names = "--weights", defaultValue = "fp32", paramLabel = "fp32|bf16",
            description = "weights decoding streams: fp32 (default) or bf16 (half the bytes per token, fp32 sums; "
                    + "CPUs with AMX or AVX512-BF16; not with --adapter LoRA)")
    String weights;

    @Option(names = "--stop", description = "stop when this text appears (repeatable)")
    List<String> stop;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 0) throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
        MatmulPrecision decodeWeights = io.tune4j.generate.DecodingWeights.parse(weights);  // before the model loads
        SamplingParams sampling = new SamplingParams(temperature, topK, topP, repetitionPenalty);
        GenerationConfig cfg = new GenerationConfig(maxTokens, sampling, seed, stop, true);
        PrintStream out = new PrintStream(System.out, true,
                StandardCharsets.UTF_8);
        try (LoadedModel m = LoadedModel.load(ModelLocator.resolve(model.model), model.tokenizer, device.selection());
             FineTuneMethod method = adapter == null ? null : Adapters.load(adapter, m.model());
             Generator g = new Generator(m.model(), m.tokenizer(), 1)) {
            io.tune4j.generate.DecodingWeights.apply(m.model(), decodeWeights, System.err);
            long t0 = System.nanoTime();
            GenerationResult r = g.generate(prompt, cfg, (id, delta) -> out.print(delta));
            out.println();
            double s = (System.nanoTime() - t0) / 1e9;
            m.announceDevice(System.err); // after the text: a refused prompt stays a one-line error
            System.err.printf("tune4j: %d prompt + %d generated tokens in %.2f s (%.1f tokens/s), finish: %s%n",
                    r.promptTokens(), r.completionTokens(), s, r.completionTokens() / Math.max(s, 1e-9),
                    r.finishReason().openAiName());
        }
        return 0;
    }
}
