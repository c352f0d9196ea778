package io.tune4j.cli;

import io.tune4j.ops.DeviceChoice;
import picocli.CommandLine.Option;

/** --device, shared by the commands that run a model (generate, finetune, eval, serve, demo). */
public final class DeviceOptions {
    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|cuda", converter = Converter.class,
            description = "where the model runs: auto takes a visible GPU, else the CPU (default: ${DEFAULT-VALUE})")
    DeviceChoice device = DeviceChoice.AUTO;

    public DeviceChoice choice() {
        return device;
    }

    /** The chosen backend; load through {@code LoadedModel.load(path, tokenizer, selection)} and announce after. */
    public DeviceChoice.Selection selection() {
        return device.select();
    }

    public static final class Converter implements picocli.CommandLine.ITypeConverter<DeviceChoice> {
        @Override
        public DeviceChoice convert(String value) {
            return DeviceChoice.parse(value);
        }
    }
}
