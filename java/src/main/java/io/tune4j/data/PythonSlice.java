package io.tune4j.data;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * A Python slice (start:stop:step, each part optional): {@link PythonSyntax} writes {@code x[a:b:c]}
 * as the method call {@code x.__py_slice(a, b, c)}, and on a list or string it yields what Python
 * would: negative positions count from the end, out-of-range ones are clamped, a negative step walks
 * backwards.
 */
record PythonSlice(Integer start, Integer stop, Integer step) {
    /** null stands for an omitted part. */
    static PythonSlice of(Object start, Object stop, Object step) {
        PythonSlice s = new PythonSlice(position(start), position(stop), position(step));
        if (s.step != null && s.step == 0) throw new IllegalArgumentException("slice step cannot be zero");
        return s;
    }

    private static Integer position(Object o) {
        if (o == null) return null;
        if (o instanceof Number n) return n.intValue();
        throw new IllegalArgumentException("slice indices must be integers, not '" + o + "'");
    }

    /** The positions of a sequence of length n that the slice picks, in order. */
    int[] indices(int n) {
        int st = step == null ? 1 : step;
        int lo = st > 0 ? 0 : -1, hi = st > 0 ? n : n - 1; // where a walk may start or stop
        int from = start == null ? (st > 0 ? 0 : n - 1) : clamp(start, n, lo, hi);
        int to = stop == null ? (st > 0 ? n : -1) : clamp(stop, n, lo, hi);
        int count = st > 0 ? Math.max(0, (to - from + st - 1) / st) : Math.max(0, (from - to - st - 1) / -st);
        int[] out = new int[count];
        for (int k = 0; k < count; k++) out[k] = from + k * st;
        return out;
    }

    private static int clamp(int i, int n, int lo, int hi) {
        int j = i < 0 ? i + n : i;
        return Math.max(lo, Math.min(hi, j));
    }

    Object apply(Object base) {
        if (base instanceof CharSequence s) {
            StringBuilder sb = new StringBuilder();
            for (int i : indices(s.length())) sb.append(s.charAt(i));
            return sb.toString();
        }
        List<?> list = base instanceof List<?> l ? l : base instanceof Object[] a ? Arrays.asList(a) : null;
        if (list == null) return null;
        List<Object> out = new ArrayList<>();
        for (int i : indices(list.size())) out.add(list.get(i));
        return out;
    }

    /**
     * Resolves {@code base.__py_slice(a, b, c)} on lists, arrays and strings. A method call rather than
     * an index, because Jinjava turns every index into a string before any resolver sees it.
     */
    static final class Resolver extends ELResolver {
        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
            if (base == null || !PythonSyntax.SLICE_METHOD.equals(String.valueOf(method)) || params == null || params.length != 3) {
                return null;
            }
            Object r = of(params[0], params[1], params[2]).apply(base);
            if (r != null) context.setPropertyResolved(true);
            return r;
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
}
