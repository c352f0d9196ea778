package io.tune4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --model and --tokenizer, shared by every command that loads a model. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "PATH",
            description = "Hugging Face model directory, llama2.c .bin checkpoint, or hub id owner/name[@revision]")
    String model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer file (tokenizer.json or llama2.c tokenizer.bin); needed for a .bin checkpoint "
                    + "without a tok*.bin beside it")
    Path tokenizer;
}
