package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiKeysTest {
    @Test
    void fileScopesAndEnvKey(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("keys");
        Files.writeString(f, "# comment\nk1 inference\n\nk2 admin\nk3 inference,admin\n");
        ApiKeys keys = ApiKeys.load(f, "envkey");
        assertEquals(Set.of(ApiKeys.Scope.INFERENCE), keys.scopesOf("k1"));
        assertEquals(Set.of(ApiKeys.Scope.INFERENCE, ApiKeys.Scope.ADMIN), keys.scopesOf("k2"));
        assertEquals(Set.of(ApiKeys.Scope.INFERENCE, ApiKeys.Scope.ADMIN), keys.scopesOf("k3"));
        assertEquals(Set.of(ApiKeys.Scope.INFERENCE, ApiKeys.Scope.ADMIN), keys.scopesOf("envkey"));
        assertNull(keys.scopesOf("k4"));
        assertTrue(ApiKeys.load(null, null).isEmpty());
    }

    @Test
    void badLinesNameTheLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("keys");
        Files.writeString(f, "k1 inference\nk2 root\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ApiKeys.load(f, null));
        assertTrue(e.getMessage().contains(":2:"), e.getMessage());
    }
}
