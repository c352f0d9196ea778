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

    private DeviceChoice.Selection selection;

    /** The backend; auto's fallback notice waits for {@link #announce}. */
    public Ops backend() {
        if (selection == null) selection = device.select();
        return selection.ops();
    }

    /** Prints auto's one-line fallback notice on stderr, once the model has loaded. */
    public void announce() {
        if (selection != null) selection.announce(System.err);
        selection = new DeviceChoice.Selection(selection == null ? backend() : selection.ops(), null);
    }

    public static final class Converter implements picocli.CommandLine.ITypeConverter<DeviceChoice> {
        @Override
        public DeviceChoice convert(String value) {
            return DeviceChoice.parse(value);
        }
    }
}
