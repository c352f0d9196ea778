package io.tune4j.runtime;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class OpenMpWaitTest {
    @Test
    void warnsOnlyWhenNoWaitWasChosen() {
        String hint = OpenMpWait.hint(Map.of("PATH", "/usr/bin")).orElseThrow();
        assertTrue(hint.contains("GOMP_SPINCOUNT=10000"), hint);
        assertTrue(OpenMpWait.hint(Map.of("GOMP_SPINCOUNT", " ")).isPresent(), "a blank value chooses nothing");
        assertFalse(OpenMpWait.hint(Map.of("GOMP_SPINCOUNT", "10000")).isPresent());
        assertFalse(OpenMpWait.hint(Map.of("OMP_WAIT_POLICY", "PASSIVE")).isPresent());
    }
}
