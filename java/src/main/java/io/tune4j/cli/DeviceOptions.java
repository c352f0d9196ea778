package io.tune4j.cli;

import io.tune4j.ops.DeviceChoice;
import io.tune4j.ops.Ops;
import picocli.CommandLine.Option;

/** --device, shared by the commands that run a model (generate, finetune, eval, serve, demo). */
public final class DeviceOptions {
    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|cuda", converter = Converter.class,
            description = "where the model runs: auto takes a visible GPU, else the CPU (default: ${DEFAULT-VALUE})")
    DeviceChoice device = DeviceChoice.AUTO;

    public DeviceChoice choice() {
        return device;
    }

    /** The backend, with auto's one-line fallback notice on stderr. */
    public Ops backend() {
        return device.backend(System.err);
    }

    public static final class Converter implements picocli.CommandLine.ITypeConverter<DeviceChoice> {
        @Override
        public DeviceChoice convert(String value) {
            return DeviceChoice.parse(value);
        }
    }
}
