package io.tune4j.cli;

import io.tune4j.runtime.NativeThreads;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point of ./tune4j. */
@Command(name = "tune4j", mixinStandardHelpOptions = true, version = "tune4j 0.1.0",
        description = "Fine-tune and serve decoder-only language models (Llama, Mistral, Qwen2/3, Gemma 2/3, Phi-3) from Java.",
        subcommands = {DemoCommand.class, InfoCommand.class, GenerateCommand.class, PrepareCommand.class, FineTuneCommand.class,
                EvalCommand.class,
                MergeCommand.class, ExportCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    static {
        // DJL probes for a CUDA driver and warns when it finds only the toolkit; the CLI never needs it
        System.setProperty("org.slf4j.simpleLogger.log.ai.djl.util.cuda", "off");
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
    }


    @Option(names = "--threads", description = "CPU threads for native kernels (default: all cores)",
            scope = CommandLine.ScopeType.INHERIT)
    void setThreads(int threads) {
        if (threads < 1) throw new CommandLine.ParameterException(new CommandLine(this), "--threads must be >= 1");
        NativeThreads.configure(threads);
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code: 0 success, 2 bad input, 1 internal error. */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        for (CommandPlugin plugin : java.util.ServiceLoader.load(CommandPlugin.class)) {
            cl.addSubcommand(plugin.name(), plugin.command());
        }
        cl.setExecutionExceptionHandler(new ErrorReporter());
        cl.setParameterExceptionHandler((ex, a) -> {
            System.err.println("tune4j: " + ex.getMessage());
            ex.getCommandLine().usage(System.err);
            return ErrorReporter.BAD_INPUT;
        });
        return cl.execute(args);
    }
}
