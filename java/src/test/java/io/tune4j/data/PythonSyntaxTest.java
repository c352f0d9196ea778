package io.tune4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Python slices and keyword arguments in chat templates, rendered as Jinja2 renders them. */
class PythonSyntaxTest {
    private static String render(String template) {
        List<Message> ms = List.of(new Message("user", "a"), new Message("assistant", "b"), new Message("user", "c"));
        return new JinjaChatTemplate(template, "", "", "t").render(ms, false, "t");
    }

    @Test
    void slicesFollowPython() {
        // expected values are Python's, for s = 'abcdef'
        String[][] cases = {{"[::-1]", "fedcba"}, {"[1:4]", "bcd"}, {"[-2:]", "ef"}, {"[:-1]", "abcde"}, {"[::2]", "ace"},
                {"[5:1:-2]", "fd"}, {"[10:]", ""}, {"[-10:2]", "ab"}, {"[1:4:-1]", ""}, {"[-1:-4:-1]", "fed"}, {"[:]", "abcdef"}};
        for (String[] c : cases) assertEquals(c[1], render("{{ 'abcdef'" + c[0] + " }}"), c[0]);
        assertEquals("c,b,a", render("{% for m in messages[::-1] %}{{ m.content }}{% if not loop.last %},{% endif %}{% endfor %}"));
        assertEquals("b|c|2", render("{{ messages[1:][0].content }}|{{ messages[-1:][0]['content'] }}|{{ messages[1:] | length }}"));
        // bounds may be expressions, including other indexing and slices
        assertEquals("bc", render("{{ (messages[0].content + 'bcd')[messages|length - 2:messages[::-1]|length] }}"));
    }

    @Test
    void keywordArgumentValuesAreWholeExpressions() {
        // Jinjava alone reads this as (last=messages|length) - 1
        assertEquals("2 yes", render("{% set ns = namespace(a=true, last=messages|length - 1) %}{{ ns.last }}{% if ns.a %} yes{% endif %}"));
    }

    @Test
    void onlyExpressionsAreRewritten() {
        String untouched = "{{ 'x[1:2]' + \"(k=1 - 1)\" }}{# a[1:2] #}{% raw %}{{ a[::-1] }}{% endraw %}"
                + "{% macro f(k=1) %}{% endmacro %}{{ d[k] }}{{ [1, 2] }}{{ {'a': 1}['a'] }}{{ a == b }}";
        assertEquals(untouched, PythonSyntax.rewrite(untouched));
        assertEquals("{%- for m in messages.__py_slice(null, null, -1) %}",
                PythonSyntax.rewrite("{%- for m in messages[::-1] %}"));
        assertEquals("{{ f(a, k=(x|length - 1), j = (2)) }}", PythonSyntax.rewrite("{{ f(a, k=x|length - 1, j = 2) }}"));
    }
}
