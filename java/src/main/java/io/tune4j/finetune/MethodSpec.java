package io.tune4j.finetune;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.peft.MethodOptions;
import io.tune4j.peft.MethodPlugin;
import io.tune4j.peft.Methods;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Which fine-tuning method a run uses and the settings given for it; settings not given take the
 * method's defaults. The type names a registered {@link MethodPlugin}, whose schema checks the
 * settings when the spec is built. In run.yaml it is one flat mapping: {@code type} and the settings
 * by name ({@code {type: lora, r: 16, alpha: 32}}).
 */
public record MethodSpec(String type, Map<String, Object> options) {

    public MethodSpec {
        type = type == null ? "lora" : type.toLowerCase(Locale.ROOT);
        MethodPlugin plugin = Methods.byName(type);
        options = MethodOptions.of(plugin, options).given();
    }

    public static MethodSpec of(String type) {
        return new MethodSpec(type, Map.of());
    }

    /** run.yaml's flat form. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static MethodSpec fromMap(Map<String, Object> m) {
        Map<String, Object> rest = new LinkedHashMap<>(m);
        Object t = rest.remove("type");
        if (t != null && !(t instanceof String)) throw new IllegalArgumentException("method: 'type' must be a string, got " + t);
        return new MethodSpec((String) t, rest);
    }

    @JsonValue
    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        m.putAll(options);
        return m;
    }

    /** A copy with one more setting (null removes it). */
    public MethodSpec with(String name, Object value) {
        Map<String, Object> m = new LinkedHashMap<>(options);
        if (value == null) m.remove(name);
        else m.put(name, value);
        return new MethodSpec(type, m);
    }

    public MethodPlugin plugin() {
        return Methods.byName(type);
    }

    /** Builds the method; errors (unknown module, rank <= 0) surface here, before any training. */
    public FineTuneMethod create(Path modelSource, long seed) {
        MethodPlugin p = plugin();
        return p.create(MethodOptions.of(p, options), modelSource, seed);
    }

    /** Where the deployable result goes inside the run directory. */
    public String resultDirName() {
        return plugin().peftType() == null ? "model" : "adapter";
    }
}
