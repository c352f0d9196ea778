package io.tune4j.cli;

import io.tune4j.finetune.Demo;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Fine-tune the stories260K fixture model: LoRA instruction tuning on SST-2 sentiment (dev accuracy "
                + "before/after vs the majority class), then full, adapter and prefix tuning on Shakespeare (validation "
                + "perplexity before/after); prints a table and generates from the tuned model.",
                "Adapters, models, plots (loss.png) and reports (eval.json, data-report.json) go to --out."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "runs/demo", description = "output directory (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--fixtures", description = "fixtures directory (default: $TUNE4J_FIXTURES or ../shared/fixtures)")
    Path fixtures;

    @Option(names = "--steps-percent", defaultValue = "100", hidden = true) int stepsPercent;

    @picocli.CommandLine.Mixin
    DeviceOptions device;

    @Override
    public Integer call() {
        Path fx = fixtures != null ? fixtures : defaultFixtures();
        Demo demo = new Demo(fx, out, System.err, stepsPercent, device.selection().announce(System.err));
        long t0 = System.nanoTime();
        List<Demo.Row> rows = demo.run();
        String table = Demo.table(rows);
        System.out.println();
        System.out.print(table);
        Path tuned = rows.stream().filter(r -> r.method().equals("full")).map(Demo.Row::result).findFirst().orElse(null);
        if (tuned != null) {
            System.out.println();
            System.out.println("Shakespeare-tuned model, prompt \"ROMEO:\":");
            System.out.println("ROMEO:" + demo.sample(tuned, "ROMEO:", 80));
        }
        System.out.printf("%ntotal %.0f s; outputs in %s%n", (System.nanoTime() - t0) / 1e9, out.toAbsolutePath());
        return 0;
    }

    private static Path defaultFixtures() {
        String env = System.getenv("TUNE4J_FIXTURES");
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of("..", "shared", "fixtures");
    }
}
