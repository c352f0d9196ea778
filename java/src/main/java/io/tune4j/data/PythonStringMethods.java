package io.tune4j.data;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The Python str methods that Hugging Face chat templates call (message['content'].strip(),
 * role.startswith('sys'), ...), which Java strings lack or name differently. Resolves only calls
 * on strings with those names; everything else falls through to Jinjava's own resolver.
 */
final class PythonStringMethods extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) return null;
        Object[] p = params == null ? new Object[0] : params;
        Object r = call(s, method.toString(), p);
        if (r != null) context.setPropertyResolved(true);
        return r;
    }

    private static Object call(String s, String name, Object[] p) {
        return switch (name) {
            case "strip" -> p.length == 0 ? s.strip() : rstrip(lstrip(s, str(p[0])), str(p[0]));
            case "lstrip" -> p.length == 0 ? s.stripLeading() : lstrip(s, str(p[0]));
            case "rstrip" -> p.length == 0 ? s.stripTrailing() : rstrip(s, str(p[0]));
            case "startswith" -> p.length == 1 ? s.startsWith(str(p[0])) : null;
            case "endswith" -> p.length == 1 ? s.endsWith(str(p[0])) : null;
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "replace" -> p.length == 2 ? s.replace(str(p[0]), str(p[1])) : null;
            case "split" -> split(s, p);
            case "count" -> p.length == 1 ? (long) count(s, str(p[0])) : null;
            case "find" -> p.length == 1 ? (long) s.indexOf(str(p[0])) : null;
            default -> null;
        };
    }

    private static String str(Object o) {
        return o == null ? "" : o.toString();
    }

    private static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && chars.indexOf(s.charAt(i)) >= 0) i++;
        return s.substring(i);
    }

    private static String rstrip(String s, String chars) {
        int i = s.length();
        while (i > 0 && chars.indexOf(s.charAt(i - 1)) >= 0) i--;
        return s.substring(0, i);
    }

    /** Python's title(): a letter after a non-letter is upper-cased, every other letter lower-cased. */
    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevLetter = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(prevLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevLetter = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static List<String> split(String s, Object[] p) {
        if (p.length == 0 || p[0] == null) {
            String t = s.strip();
            return t.isEmpty() ? new ArrayList<>() : new ArrayList<>(Arrays.asList(t.split("\\s+")));
        }
        String sep = str(p[0]);
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int i = s.indexOf(sep); i >= 0 && !sep.isEmpty(); i = s.indexOf(sep, from)) {
            out.add(s.substring(from, i));
            from = i + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) return s.length() + 1;
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) n++;
        return n;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
