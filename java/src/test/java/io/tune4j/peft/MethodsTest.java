package io.tune4j.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tune4j.finetune.MethodSpec;
import io.tune4j.model.io.ModelFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The method registry: built-ins found through ServiceLoader, schemas checked, saved adapters recognised. */
class MethodsTest {

    @Test
    void builtInsAreRegisteredWithWhatTheEntryPointsAsk() {
        assertTrue(Methods.names().containsAll(List.of("lora", "adapter", "prefix", "full")), Methods.names().toString());
        assertEquals("LORA", Methods.byName("lora").peftType());
        assertTrue(Methods.byName("lora").mergeable());
        assertFalse(Methods.byName("adapter").mergeable());
        assertFalse(Methods.byName("prefix").mergeable());
        assertTrue(Methods.byName("full").mergeable());
        assertEquals(null, Methods.byName("full").peftType());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Methods.byName("qlora"));
        assertTrue(e.getMessage().contains("qlora") && e.getMessage().contains("prefix"), e.getMessage());
    }

    @Test
    void methodSpecChecksSettingsAgainstTheSchema() {
        MethodSpec s = new MethodSpec("lora", Map.of("r", "16", "targetModules", "q_proj,v_proj"));
        assertEquals(16, s.options().get("r"));
        assertEquals(List.of("q_proj", "v_proj"), s.options().get("targetModules"));
        assertEquals("adapter", s.resultDirName());
        assertEquals("model", MethodSpec.of("full").resultDirName());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MethodSpec("adapter", Map.of("r", 4)));
        assertTrue(e.getMessage().contains("'r' is not a setting of method adapter"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MethodSpec("lora", Map.of("dropout", 1.5)));
        assertTrue(e.getMessage().contains("dropout must be between 0 and 0.99"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MethodSpec("prefix", Map.of("prefixProjection", "yes")));
        assertTrue(e.getMessage().contains("true or false"), e.getMessage());
    }

    @Test
    void savedAdaptersAreRecognisedByTheirConfig(@TempDir Path tmp) throws Exception {
        Path lora = tmp.resolve("lora");
        Files.createDirectories(lora);
        Files.writeString(lora.resolve(PeftFiles.CONFIG), "{\"peft_type\": \"LORA\", \"r\": 4, \"target_modules\": [\"q_proj\"]}");
        Methods.Saved s = Methods.recognise(lora);
        assertEquals("lora", s.method().name());
        assertTrue(s.sharesBatch());
        Files.writeString(lora.resolve(PeftFiles.CONFIG), "{\"peft_type\": \"LORA\", \"r\": 4, \"target_modules\": [\"q_proj\"],"
                + " \"modules_to_save\": [\"norm\"]}");
        assertFalse(Methods.recognise(lora).sharesBatch(), "modules_to_save replaces base weights: it runs alone");
        Files.writeString(lora.resolve(PeftFiles.CONFIG), "{\"peft_type\": \"IA3\"}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Methods.recognise(lora));
        assertTrue(e.getMessage().contains("adapter_config.json") && e.getMessage().contains("IA3"), e.getMessage());
    }
}
