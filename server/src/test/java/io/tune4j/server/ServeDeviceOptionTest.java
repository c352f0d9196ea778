package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** serve takes --device like the other commands that run a model, and refuses an unknown one. */
class ServeDeviceOptionTest {
    private static String[] run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new String[] {Integer.toString(code), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void serveTakesTheDeviceOption() {
        String[] r = run("serve", "--help");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("--device=auto|cpu|cuda"), r[1]);
        String[] bad = run("serve", "--model", "x", "--device", "tpu");
        assertEquals("2", bad[0], bad[2]);
        assertTrue(bad[2].contains("expected auto, cpu or cuda, got 'tpu'"), bad[2]);
    }
}
