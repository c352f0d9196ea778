package io.tune4j.cli;

import io.tune4j.model.LoadedModel;
import io.tune4j.peft.Adapters;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.Merger;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge a LoRA adapter into its base model and write a complete Hugging Face model directory.")
final class MergeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "adapter directory (adapter_config.json)")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output model directory")
    Path out;

    @Override
    public Integer call() throws Exception {
        try (LoadedModel m = LoadedModel.load(model.model, model.tokenizer);
             FineTuneMethod method = Adapters.load(adapter, m.model())) {
            Merger.merge(m.model(), method, m.checkpoint().path(), out);
        }
        System.err.println("tune4j: merged " + adapter + " into " + out);
        return 0;
    }
}
