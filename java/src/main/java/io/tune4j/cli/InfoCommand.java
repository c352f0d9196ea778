package io.tune4j.cli;

import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.arch.Architecture;
import io.tune4j.model.arch.Architectures;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Print a model's architecture, parameter count, dtype and tokenizer.")
final class InfoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Override
    public Integer call() throws Exception {
        try (LoadedModel m = LoadedModel.load(model.model, model.tokenizer)) {
            LlamaConfig c = m.config();
            System.out.println("model:        " + m.source());
            Architecture arch = Architectures.of(c.features());
            System.out.println("architecture: " + arch.hfClass() + " (model_type " + arch.modelType() + ")");
            System.out.println("features:     " + String.join("; ", arch.describe(c)));
            System.out.printf("parameters:   %,d%n", c.parameterCount());
            System.out.println("dtype:        " + m.dtype());
            System.out.println("layers:       " + c.numLayers());
            System.out.println("hidden size:  " + c.hiddenSize());
            System.out.println("intermediate: " + c.intermediateSize());
            System.out.println("heads:        " + c.numHeads() + " (key/value heads: " + c.numKvHeads() + ", head dim "
                    + c.headDim() + ")");
            System.out.println("vocabulary:   " + c.vocabSize());
            System.out.println("context:      " + c.maxPositions());
            System.out.println("rope:         theta " + c.rope().theta()
                    + (c.rope().type() == io.tune4j.ops.RopeScaling.Type.NONE ? "" : ", scaling " + c.rope().type()
                    + " x" + c.rope().factor()));
            System.out.println("tied embeddings: " + c.tieWordEmbeddings());
            System.out.println("bos/eos:      " + c.bosTokenId() + " / " + Arrays.toString(c.eosTokenIds()));
            System.out.println("tokenizer:    " + m.tokenizer().describe());
        }
        return 0;
    }
}
