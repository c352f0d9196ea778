package io.tune4j.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HubConfigTest {

    @TempDir
    Path home;

    @Test
    void defaultsFollowHuggingfaceHub() {
        HubConfig c = HubConfig.fromEnv(Map.of(), home);
        assertEquals(URI.create("https://huggingface.co"), c.endpoint());
        assertEquals(home.resolve(".cache/huggingface/hub"), c.cacheDir());
        assertNull(c.token());
        assertFalse(c.offline());
    }

    @Test
    void cacheLocationPrecedence() {
        assertEquals(Path.of("/x/hf/hub"), HubConfig.fromEnv(Map.of("HF_HOME", "/x/hf", "XDG_CACHE_HOME", "/y"), home).cacheDir());
        assertEquals(Path.of("/y/huggingface/hub"), HubConfig.fromEnv(Map.of("XDG_CACHE_HOME", "/y"), home).cacheDir());
        assertEquals(Path.of("/z"), HubConfig.fromEnv(Map.of("HF_HOME", "/x/hf", "HF_HUB_CACHE", "/z"), home).cacheDir());
    }

    @Test
    void endpointTokenAndOffline() throws IOException {
        HubConfig c = HubConfig.fromEnv(Map.of("HF_ENDPOINT", "https://hf-mirror.example/", "HF_TOKEN", "hf_abc",
                "HF_HUB_OFFLINE", "1"), home);
        assertEquals(URI.create("https://hf-mirror.example"), c.endpoint());
        assertEquals("hf_abc", c.token());
        assertTrue(c.offline());
        assertFalse(c.toString().contains("hf_abc"));
        assertFalse(HubConfig.fromEnv(Map.of("HF_HUB_OFFLINE", "0"), home).offline());
        assertTrue(HubConfig.fromEnv(Map.of("HF_HUB_OFFLINE", "YES"), home).offline());

        Path tokenFile = Files.createDirectories(home.resolve(".cache/huggingface")).resolve("token");
        Files.writeString(tokenFile, "hf_saved\n");
        assertEquals("hf_saved", HubConfig.fromEnv(Map.of(), home).token());
        assertEquals("hf_env", HubConfig.fromEnv(Map.of("HF_TOKEN", "hf_env"), home).token());
    }
}
