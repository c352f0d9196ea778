package io.tune4j.cli;

import io.tune4j.export.GgufExporter;
import io.tune4j.export.GgufLoraExporter;
import io.tune4j.export.GgufType;
import io.tune4j.model.LoadedModel;
import io.tune4j.model.ModelLocator;
import io.tune4j.peft.Adapters;
import io.tune4j.peft.FineTuneMethod;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a model (with a LoRA adapter merged in) as one GGUF file for llama.cpp, Ollama or LM Studio.")
final class ExportCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "LoRA adapter to merge into the weights first")
    Path adapter;

    @Option(names = "--lora-only", description = "write the LoRA adapter alone as a GGUF LoRA (llama.cpp --lora) "
            + "instead of merging it")
    boolean loraOnly;

    @Option(names = "--format", defaultValue = "gguf", description = "output format: gguf (default)")
    String format;

    @Option(names = "--dtype", defaultValue = "f16", paramLabel = "f32|f16|bf16|q8_0",
            description = "storage of the weight matrices (default: ${DEFAULT-VALUE}); norms stay f32")
    String dtype;

    @Option(names = "--name", description = "general.name written into the file (default: the model's name)")
    String name;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the .gguf file to write")
    Path out;

    @Override
    public Integer call() {
        if (!format.toLowerCase(Locale.ROOT).equals("gguf")) {
            throw new IllegalArgumentException("--format: unknown format '" + format + "'; expected gguf");
        }
        GgufType type = GgufType.parse(dtype);
        if (loraOnly && adapter == null) throw new IllegalArgumentException("--lora-only needs --adapter DIR");
        checkWritable(out);  // before minutes of loading
        Path source = ModelLocator.resolve(model.model);
        String modelName = name != null ? name : defaultName(loraOnly ? adapter : source);
        long t0 = System.nanoTime();
        GgufExporter.Result r;
        try (LoadedModel m = LoadedModel.load(source, model.tokenizer, io.tune4j.ops.cpu.CpuOps.INSTANCE);
             FineTuneMethod method = adapter == null ? null : Adapters.load(adapter, m.model())) {
            r = loraOnly ? GgufLoraExporter.export(m, method, type, modelName, out)
                    : GgufExporter.export(m, method, type, modelName, out);
        }
        System.err.printf(Locale.ROOT, "tune4j: wrote %s (%d tensors, %.1f MB, %s%s) in %.1f s%n", r.file(), r.tensors(),
                r.bytes() / 1e6, type.cliName(), r.fellBackToF16().isEmpty() ? ""
                        : "; " + r.fellBackToF16().size() + " matrices with rows not a multiple of " + type.blockSize
                        + " as f16", (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private static String defaultName(Path source) {
        Path p = source.toAbsolutePath().normalize();
        String n = p.getFileName() == null ? "model" : p.getFileName().toString();
        return n.endsWith(".bin") ? n.substring(0, n.length() - 4) : n;
    }

    private static void checkWritable(Path out) {
        Path abs = out.toAbsolutePath();
        Path dir = abs.getParent();
        if (Files.isDirectory(abs)) throw new IllegalArgumentException(abs + ": cannot write: it is a directory");
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(abs + ": cannot write: directory " + dir + " does not exist");
        }
        if (!Files.isWritable(dir)) {
            throw new UncheckedIOException(new IOException(abs + ": cannot write: directory " + dir + " is not writable"));
        }
    }
}
