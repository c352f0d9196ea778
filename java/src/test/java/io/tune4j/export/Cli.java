package io.tune4j.export;

import io.tune4j.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs ./tune4j in-process with stdout and stderr captured. */
final class Cli {
    record Run(int code, String out, String err) {}

    private Cli() {}

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** tune4j's greedy continuation of prompt, n tokens at most. */
    static String greedy(String prompt, int n, String... modelArgs) {
        String[] a = new String[modelArgs.length + 7];
        a[0] = "generate";
        System.arraycopy(modelArgs, 0, a, 1, modelArgs.length);
        int i = modelArgs.length + 1;
        a[i++] = "--prompt";
        a[i++] = prompt;
        a[i++] = "--max-tokens";
        a[i++] = Integer.toString(n);
        a[i++] = "--temperature";
        a[i] = "0";
        Run r = run(a);
        if (r.code() != 0) throw new AssertionError("tune4j generate failed: " + r.err());
        String out = r.out();
        return out.endsWith("\n") ? out.substring(0, out.length() - 1) : out;
    }
}
