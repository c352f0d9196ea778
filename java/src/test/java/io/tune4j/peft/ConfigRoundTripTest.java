package io.tune4j.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.io.LlamaConfigReader;
import io.tune4j.testing.FamilyConfigs;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The config.json that merge and full fine-tuning write reads back as the model it came from, for every
 * family: a written model must not change shape or features when it is loaded again, whatever the
 * family's defaults for the keys its source left out.
 */
class ConfigRoundTripTest {
    static Stream<Arguments> families() {
        return FamilyConfigs.all().stream().map(c -> Arguments.of(c[0], c[1]));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void writtenConfigReadsBackEqual(String name, String json) throws Exception {
        ObjectMapper m = new ObjectMapper();
        LlamaConfig read = LlamaConfigReader.parse(Path.of(name + "/config.json"), m.readTree(json));
        String written = m.writeValueAsString(ModelDirWriter.configJson(read));
        LlamaConfig again = LlamaConfigReader.parse(Path.of("written/config.json"), m.readTree(written));
        assertEquals(read, again, name + ": " + written);
    }
}
