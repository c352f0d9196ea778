package io.tune4j.peft;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One setting of a fine-tuning method, as the method declares it: the name it has in run.yaml and
 * {@code --method-option}, its kind and default, the hyperparameter name the jobs API gives it
 * (null where the jobs API does not expose it), and the bounds any entry point checks before a run.
 *
 * @param min     smallest allowed value of a number (inclusive); null for none
 * @param max     largest allowed value of a number (inclusive); null for none
 * @param choices the allowed values of a string option; empty for any
 */
public record MethodOption(String name, Kind kind, Object defaultValue, String jobName, Double min, Double max,
                           List<String> choices, String description) {
    public enum Kind { INT, FLOAT, BOOL, STRING, LIST }

    public MethodOption {
        choices = choices == null ? List.of() : List.copyOf(choices);
    }

    public static MethodOption integer(String name, Integer dflt, String jobName, int min, int max, String description) {
        return new MethodOption(name, Kind.INT, dflt, jobName, (double) min, (double) max, List.of(), description);
    }

    public static MethodOption number(String name, Float dflt, String jobName, double min, double max, String description) {
        return new MethodOption(name, Kind.FLOAT, dflt, jobName, min, max, List.of(), description);
    }

    public static MethodOption bool(String name, Boolean dflt, String jobName, String description) {
        return new MethodOption(name, Kind.BOOL, dflt, jobName, null, null, List.of(), description);
    }

    public static MethodOption string(String name, String dflt, String jobName, List<String> choices, String description) {
        return new MethodOption(name, Kind.STRING, dflt, jobName, null, null, choices, description);
    }

    public static MethodOption list(String name, List<String> dflt, String jobName, String description) {
        return new MethodOption(name, Kind.LIST, dflt, jobName, null, null, List.of(), description);
    }

    /**
     * The value in this option's Java type (Integer, Float, Boolean, String, List of String), from
     * what YAML, JSON or a command line gives: numbers of any width, "true"/"false", or a
     * comma-separated string for a list. Throws naming {@code where} (e.g. "method option 'r'").
     */
    public Object coerce(Object v, String where) {
        if (v == null) return null;
        Object out = switch (kind) {
            case INT -> {
                if (v instanceof String s) v = parseNumber(s.strip(), where, "an integer");
                if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())
                        || Math.abs(n.doubleValue()) > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException(where + " must be an integer, got " + describe(v));
                }
                yield n.intValue();
            }
            case FLOAT -> {
                if (v instanceof String s) v = parseNumber(s.strip(), where, "a number");
                if (!(v instanceof Number n) || !Double.isFinite(n.doubleValue())) {
                    throw new IllegalArgumentException(where + " must be a number, got " + describe(v));
                }
                yield n.floatValue();
            }
            case BOOL -> {
                if (v instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
                    yield Boolean.parseBoolean(s);
                }
                if (!(v instanceof Boolean b)) throw new IllegalArgumentException(where + " must be true or false, got " + describe(v));
                yield b;
            }
            case STRING -> {
                if (!(v instanceof String s)) throw new IllegalArgumentException(where + " must be a string, got " + describe(v));
                if (!choices.isEmpty() && !choices.contains(s.toLowerCase(Locale.ROOT))) {
                    throw new IllegalArgumentException(where + " must be one of " + choices + ", got '" + s + "'");
                }
                yield choices.isEmpty() ? s : s.toLowerCase(Locale.ROOT);
            }
            case LIST -> {
                List<String> l = new ArrayList<>();
                if (v instanceof String s) {
                    for (String x : s.split(",")) if (!x.isBlank()) l.add(x.strip());
                } else if (v instanceof List<?> items) {
                    for (Object x : items) {
                        if (!(x instanceof String s) || s.isBlank()) {
                            throw new IllegalArgumentException(where + " must be a list of names, got " + describe(v));
                        }
                        l.add(s.strip());
                    }
                } else {
                    throw new IllegalArgumentException(where + " must be a list of names, got " + describe(v));
                }
                yield List.copyOf(l);
            }
        };
        if (out instanceof Number n && (min != null && n.doubleValue() < min || max != null && n.doubleValue() > max)) {
            throw new IllegalArgumentException(where + " must be between " + fmt(min) + " and " + fmt(max) + ", got " + n);
        }
        return out;
    }

    private static Object parseNumber(String s, String where, String what) {
        try {
            return s.matches("[-+]?\\d+") ? (Object) Long.parseLong(s) : (Object) Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + " must be " + what + ", got '" + s + "'");
        }
    }

    private static String fmt(Double d) {
        if (d == null) return "unbounded";
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf(d.longValue()) : String.valueOf(d);
    }

    private static String describe(Object v) {
        return v instanceof String s ? "'" + s + "'" : String.valueOf(v);
    }

    /** "r (int, default 8)": how the schema reads in error messages and help. */
    public String summary() {
        return name + " (" + kind.name().toLowerCase(Locale.ROOT) + (defaultValue == null ? "" : ", default " + defaultValue) + ")";
    }
}
