package io.tune4j.peft;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings a run gives a method, checked against the method's schema: unknown names and
 * values of the wrong kind or outside the bounds fail here, before any model is loaded. Reading a
 * setting that was not given yields the schema's default.
 */
public final class MethodOptions {
    private final MethodPlugin method;
    private final Map<String, Object> given;

    private MethodOptions(MethodPlugin method, Map<String, Object> given) {
        this.method = method;
        this.given = given;
    }

    /** Checks raw values (null entries are dropped) against method's schema; errors name the option. */
    public static MethodOptions of(MethodPlugin method, Map<String, ?> raw) {
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, ?> in = raw == null ? Map.of() : raw;
        for (String k : in.keySet()) {
            if (in.get(k) != null && method.option(k) == null) {
                throw new IllegalArgumentException("method: '" + k + "' is not a setting of method " + method.name()
                        + " (its settings: " + settingsOf(method) + ")" + ownersOf(k));
            }
        }
        // schema order, so that run.yaml lists them the same way every time
        for (MethodOption o : method.options()) {
            Object v = in.get(o.name());
            if (v != null) out.put(o.name(), o.coerce(v, "method setting " + o.name()));
        }
        return new MethodOptions(method, Collections.unmodifiableMap(out));
    }

    /** "; r belongs to lora, dora": where a misplaced setting does belong, if anywhere. */
    public static String ownersOf(String setting) {
        List<String> owners = Methods.plugins().stream().filter(p -> p.option(setting) != null).map(MethodPlugin::name).toList();
        return owners.isEmpty() ? "" : "; " + setting + " belongs to " + String.join(", ", owners);
    }

    static String settingsOf(MethodPlugin method) {
        List<String> s = method.options().stream().map(MethodOption::summary).toList();
        return s.isEmpty() ? "none" : String.join(", ", s);
    }

    public MethodPlugin method() {
        return method;
    }

    /** The values given, in the schema's order, without defaults. */
    public Map<String, Object> given() {
        return given;
    }

    public boolean has(String name) {
        return given.containsKey(name);
    }

    private Object get(String name) {
        MethodOption o = method.option(name);
        if (o == null) throw new IllegalArgumentException("method " + method.name() + " declares no setting '" + name + "'");
        Object v = given.get(name);
        return v != null ? v : o.defaultValue();
    }

    public Integer integer(String name) {
        return (Integer) get(name);
    }

    public Float number(String name) {
        return (Float) get(name);
    }

    public Boolean bool(String name) {
        return (Boolean) get(name);
    }

    public String string(String name) {
        return (String) get(name);
    }

    @SuppressWarnings("unchecked")
    public List<String> list(String name) {
        return (List<String>) get(name);
    }
}
