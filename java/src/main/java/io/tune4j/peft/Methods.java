package io.tune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import io.tune4j.model.io.ModelFormatException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/** The registry of fine-tuning methods: every {@link MethodPlugin} on the classpath, by name. */
public final class Methods {
    private static volatile Map<String, MethodPlugin> byName;

    private Methods() {}

    private static Map<String, MethodPlugin> all() {
        Map<String, MethodPlugin> m = byName;
        if (m != null) return m;
        synchronized (Methods.class) {
            if (byName != null) return byName;
            Map<String, MethodPlugin> found = new LinkedHashMap<>();
            for (MethodPlugin p : ServiceLoader.load(MethodPlugin.class, Methods.class.getClassLoader())) {
                MethodPlugin before = found.putIfAbsent(p.name(), p);
                if (before != null && before.getClass() != p.getClass()) {
                    throw new IllegalStateException("two fine-tuning methods are called '" + p.name() + "': "
                            + before.getClass().getName() + " and " + p.getClass().getName());
                }
            }
            byName = Map.copyOf(found);
            order = List.copyOf(found.keySet());
            return byName;
        }
    }

    private static volatile List<String> order;

    /** Every method name, in classpath order (the built-in ones first). */
    public static List<String> names() {
        all();
        return order;
    }

    public static List<MethodPlugin> plugins() {
        List<MethodPlugin> out = new ArrayList<>();
        for (String n : names()) out.add(all().get(n));
        return out;
    }

    /** The method called name; throws listing the known ones. */
    public static MethodPlugin byName(String name) {
        MethodPlugin p = all().get(name);
        if (p == null) {
            throw new IllegalArgumentException("method: unknown type '" + name + "' (expected " + String.join(", ", names()) + ")");
        }
        return p;
    }

    public static boolean exists(String name) {
        return all().containsKey(name);
    }

    /** The plug-in that made method (by its name); throws for a method no plug-in declares. */
    public static MethodPlugin of(FineTuneMethod method) {
        MethodPlugin p = all().get(method.name());
        if (p == null) throw new IllegalArgumentException("fine-tuning method '" + method.name() + "' has no registered plug-in");
        return p;
    }

    /** A saved adapter directory: the method that reads it and the config it was recognised by. */
    public record Saved(MethodPlugin method, JsonNode config) {
        /** Whether the server may decode it in the shared multi-LoRA batch. */
        public boolean sharesBatch() {
            return method.sharesBatch(config);
        }

        public boolean wrapsProjections() {
            return method.wrapsProjections();
        }
    }

    /**
     * Reads dir/adapter_config.json and finds the method it belongs to by peft_type (and, where
     * methods share one, by the method's own test). Errors name the file and field.
     */
    public static Saved recognise(Path dir) {
        JsonNode c = PeftFiles.readConfig(dir);
        Path file = dir.resolve(PeftFiles.CONFIG);
        String type = PeftFiles.reqText(file, c, "peft_type");
        List<MethodPlugin> sameType = new ArrayList<>();
        for (MethodPlugin p : plugins()) if (type.equals(p.peftType())) sameType.add(p);
        for (MethodPlugin p : sameType) if (p.recognises(c)) return new Saved(p, c);
        // the type is known but no variant claims these fields: the first method of that type says which field it refuses
        if (!sameType.isEmpty()) return new Saved(sameType.get(0), c);
        List<String> known = new ArrayList<>();
        for (MethodPlugin p : plugins()) if (p.peftType() != null && !known.contains(p.peftType())) known.add(p.peftType());
        throw new ModelFormatException(file, "peft_type '" + type + "' is not supported (expected one of "
                + String.join(", ", known) + ")");
    }
}
