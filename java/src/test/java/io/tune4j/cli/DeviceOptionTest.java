package io.tune4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.tune4j.ops.DeviceChoice;
import io.tune4j.ops.cpu.CpuOps;
import io.tune4j.ops.cuda.CudaOps;
import io.tune4j.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** --device auto|cpu|cuda: the same text on the CPU, one line when auto falls back, a clear refusal otherwise. */
class DeviceOptionTest {
    private static final String STORY = ", there was a little girl named Lily.";

    private static CliTest.Run generate(String... device) {
        Path model = Fixtures.require("models/stories260K-hf");
        String[] base = {"generate", "--model", model.toString(), "--prompt", "Once upon a time", "--max-tokens", "20"};
        String[] args = java.util.Arrays.copyOf(base, base.length + device.length);
        System.arraycopy(device, 0, args, base.length, device.length);
        return CliTest.run(args);
    }

    @Test
    void cpuRunsTheSameStoryWithoutANotice() {
        CliTest.Run r = generate("--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith(STORY), r.out());
        assertFalse(r.err().contains("running on the CPU"), r.err());
    }

    @Test
    void autoWithoutAGpuSaysSoInOneLineAndRunsOnTheCpu() {
        assumeFalse(CudaOps.isAvailable(), "a GPU is visible: auto takes it");
        for (String[] device : new String[][] {{}, {"--device", "AUTO"}}) {
            CliTest.Run r = generate(device);
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().startsWith(STORY), r.out());
            java.util.List<String> notices = r.err().lines().filter(l -> l.contains("running on the CPU")).toList();
            assertEquals(1, notices.size(), r.err());
            assertTrue(notices.get(0).startsWith("tune4j: --device auto: running on the CPU; "), notices.get(0));
        }
    }

    @Test
    void cudaWithoutAGpuIsRefusedInOneLine() {
        assumeFalse(CudaOps.isAvailable(), "a GPU is visible");
        CliTest.Run r = generate("--device", "cuda");
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("tune4j: error: --device cuda: no usable GPU: "), err);
    }

    @Test
    void anUnknownDeviceNamesTheChoices() {
        CliTest.Run r = generate("--device", "gpu");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("expected auto, cpu or cuda, got 'gpu'"), r.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"generate", "finetune", "eval", "demo"})
    void everyModelCommandTakesTheOption(String command) {
        CliTest.Run r = CliTest.run(command, "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("--device=auto|cpu|cuda"), r.out());
    }

    @Test
    void theJavaApiPicksTheSameBackends() {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8);
        assertSame(CpuOps.INSTANCE, DeviceChoice.CPU.backend(ps));
        assertEquals("", log.toString(StandardCharsets.UTF_8));
        assertEquals(DeviceChoice.CUDA, DeviceChoice.parse(" Cuda "));
        assertThrows(IllegalArgumentException.class, () -> DeviceChoice.parse("tpu"));
        if (!CudaOps.isAvailable()) {
            assertSame(CpuOps.INSTANCE, DeviceChoice.AUTO.backend(ps));
            assertEquals(1, log.toString(StandardCharsets.UTF_8).lines().count());
            assertThrows(IllegalArgumentException.class, () -> DeviceChoice.CUDA.backend(ps));
        }
    }
}
