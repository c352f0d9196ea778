package io.tune4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * The model's own chat_template (tokenizer_config.json), rendered with Jinjava the way Hugging
 * Face's apply_chat_template renders it with Jinja2 (trim_blocks, lstrip_blocks, raise_exception,
 * Python string methods, and the slices and keyword arguments {@link PythonSyntax} rewrites). What the loss covers is found by rendering prefixes of the conversation:
 * the text an assistant turn adds beyond the prompt ending in add_generation_prompt is its response.
 */
public final class JinjaChatTemplate implements PromptTemplate {
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    private final String source;
    private final String rewritten;
    private final String origin;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    public JinjaChatTemplate(String source, String bosToken, String eosToken, String origin) {
        this.source = source;
        this.rewritten = PythonSyntax.rewrite(source); // on the same lines, so errors point at the original
        this.origin = origin;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(new PythonSlice.Resolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        // Jinja2 trims around {{- -}} and {#- -#} as well as {%- -%}; Jinjava does only when told to
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withLegacyOverrides(LegacyOverrides.newBuilder().withUseTrimmingForNotesAndExpressions(true).build())
                .withElResolver(resolver).build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaChatTemplate.class,
                "raiseException", Object.class));
    }

    /** Reads chat_template, bos_token and eos_token from tokenizer_config.json in modelDir. */
    public static JinjaChatTemplate fromModel(Path modelDir) {
        Path cfg = Files.isDirectory(modelDir) ? modelDir.resolve("tokenizer_config.json") : modelDir.resolveSibling("tokenizer_config.json");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(cfg));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DataFormatException(cfg.toString(), 0, "no such file (the 'model' template needs the model's chat_template)");
        } catch (IOException e) {
            throw new DataFormatException(cfg.toString(), 0, "cannot read it as JSON: " + e.getMessage());
        }
        JsonNode t = root.get("chat_template");
        String source = null;
        if (t != null && t.isTextual()) {
            source = t.asText();
        } else if (t != null && t.isArray()) { // named templates: [{name, template}]
            for (JsonNode n : t) if ("default".equals(n.path("name").asText())) source = n.path("template").asText(null);
        }
        Path jinja = cfg.resolveSibling("chat_template.jinja");
        if (source == null && Files.isRegularFile(jinja)) {
            try {
                source = Files.readString(jinja);
            } catch (IOException e) {
                throw new DataFormatException(jinja.toString(), 0, "cannot read: " + e.getMessage());
            }
        }
        if (source == null) {
            throw new DataFormatException(cfg.toString(), 0, "field 'chat_template' missing (expected the Jinja chat "
                    + "template the 'model' template renders; pick alpaca, chatml or llama2 instead)");
        }
        return new JinjaChatTemplate(source, tokenText(root.get("bos_token")), tokenText(root.get("eos_token")), cfg.toString());
    }

    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.asText();
        return n.path("content").asText(null);
    }

    /** raise_exception(message) in templates: aborts rendering with the template's own message. */
    public static String raiseException(Object message) {
        // Jinja2 stops at the first raise; Jinjava records the error and renders on, so keep the first
        if (RAISED.get() == null) RAISED.set(String.valueOf(message));
        throw new IllegalStateException(String.valueOf(message));
    }

    @Override
    public String name() {
        return "model";
    }

    public String source() {
        return source;
    }

    /** Renders messages exactly as apply_chat_template(messages, tokenize=False, add_generation_prompt=...) would. */
    public String render(List<Message> messages, boolean addGenerationPrompt, String where) {
        List<Map<String, Object>> ms = new ArrayList<>(messages.size());
        for (Message m : messages) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            ms.add(o);
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", ms);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        RAISED.remove();
        RenderResult r = jinjava.renderForResult(rewritten, ctx);
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) throw new DataFormatException(where, 0, "the chat template raised: " + raised);
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new DataFormatException(origin, 0, "chat_template line " + e.getLineno() + ": " + e.getMessage()
                        + (e.getFieldName() == null ? "" : " in '" + e.getFieldName() + "'"));
            }
        }
        return r.getOutput();
    }

    @Override
    public List<Segment> segments(Example example) {
        List<Segment> out = new ArrayList<>();
        if (example instanceof Example.Text t) {
            out.add(Segment.bos());
            out.add(Segment.response(t.text()));
            out.add(Segment.eos());
            return out;
        }
        List<Message> ms = example.messages();
        String done = "";
        for (int i = 0; i < ms.size(); i++) {
            if (!ms.get(i).isAssistant()) continue;
            String prompt = render(ms.subList(0, i), true, example.origin());
            String full = render(ms.subList(0, i + 1), false, example.origin());
            if (!prompt.startsWith(done) || !full.startsWith(prompt)) {
                throw new DataFormatException(origin, 0, "the chat template does not render a conversation as a "
                        + "prefix of its continuation (at " + example.origin() + ", turn " + (i + 1)
                        + "), so prompt and response cannot be told apart; use the alpaca, chatml or llama2 template");
            }
            out.add(Segment.prompt(prompt.substring(done.length())));
            out.add(Segment.response(full.substring(prompt.length())));
            out.add(Segment.eos());
            done = full;
        }
        return out;
    }
}
