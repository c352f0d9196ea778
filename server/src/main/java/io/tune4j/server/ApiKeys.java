package io.tune4j.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * API keys and their scopes. File format: one {@code KEY SCOPE[,SCOPE]} per line, '#' comments and
 * blank lines ignored; scopes are inference and admin (admin implies inference).
 */
public final class ApiKeys {
    public enum Scope { INFERENCE, ADMIN }

    private final Map<String, Set<Scope>> keys;

    private ApiKeys(Map<String, Set<Scope>> keys) {
        this.keys = keys;
    }

    public static ApiKeys of(Map<String, Set<Scope>> keys) {
        Map<String, Set<Scope>> m = new LinkedHashMap<>();
        keys.forEach((k, v) -> m.put(k, withImplied(v)));
        return new ApiKeys(m);
    }

    /** Keys from the file (may be null) plus envKey (may be null) as an admin key. */
    public static ApiKeys load(Path file, String envKey) {
        Map<String, Set<Scope>> m = new LinkedHashMap<>();
        if (file != null) {
            List<String> lines;
            try {
                lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalArgumentException(file + ": cannot read the API key file: " + e.getMessage());
            }
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                String[] parts = line.split("\\s+");
                if (parts.length != 2) {
                    throw new IllegalArgumentException(file + ":" + (i + 1) + ": expected 'KEY SCOPE[,SCOPE]'");
                }
                Set<Scope> scopes = EnumSet.noneOf(Scope.class);
                for (String s : parts[1].split(",")) {
                    try {
                        scopes.add(Scope.valueOf(s.strip().toUpperCase(Locale.ROOT)));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(file + ":" + (i + 1) + ": unknown scope '" + s
                                + "' (expected inference or admin)");
                    }
                }
                m.put(parts[0], withImplied(scopes));
            }
        }
        if (envKey != null && !envKey.isBlank()) m.put(envKey.strip(), withImplied(EnumSet.of(Scope.ADMIN)));
        return new ApiKeys(m);
    }

    private static Set<Scope> withImplied(Set<Scope> s) {
        Set<Scope> out = s.isEmpty() ? EnumSet.noneOf(Scope.class) : EnumSet.copyOf(s);
        if (out.contains(Scope.ADMIN)) out.add(Scope.INFERENCE);
        return out;
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    /** The scopes of the key, or null when it is not a known key. Compares in constant time per key. */
    public Set<Scope> scopesOf(String key) {
        byte[] given = key.getBytes(StandardCharsets.UTF_8);
        Set<Scope> found = null;
        for (Map.Entry<String, Set<Scope>> e : keys.entrySet()) {
            if (MessageDigest.isEqual(given, e.getKey().getBytes(StandardCharsets.UTF_8))) found = e.getValue();
        }
        return found;
    }
}
