package io.tune4j.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.tokenizer.HfTokenizer;
import io.tune4j.tokenizer.Llama2cTokenizer;
import io.tune4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The tokenizer.ggml.* metadata llama.cpp rebuilds a model's tokenizer from. A SentencePiece-style
 * vocabulary (llama2.c's tokenizer.bin, or a tokenizer.json whose BPE falls back to byte tokens, or
 * a Unigram one) becomes tokenizer model "llama"; a byte-level BPE becomes "gpt2" with its merges.
 */
public final class GgufTokenizer {
    /** llama_token_type values. */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-F]{2}>");
    /** Llama 3's pre-tokenizer split, which llama.cpp knows as "llama-bpe". */
    private static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}";
    /** Qwen2's split (Llama 3's, but one digit at a time), which llama.cpp knows as "qwen2". */
    static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    final String model;
    final List<String> tokens = new ArrayList<>();
    final List<Float> scores = new ArrayList<>();
    final List<Integer> types = new ArrayList<>();
    final List<String> merges = new ArrayList<>();
    String pre;
    int bos = -1, eos = -1, unk = -1, pad = -1;
    Boolean addBos, addEos, addSpacePrefix;
    String chatTemplate;

    private GgufTokenizer(String model) {
        this.model = model;
    }

    /** The vocabulary of the tokenizer tune4j loaded for the model, padded to vocabSize. */
    public static GgufTokenizer of(Tokenizer tok, int vocabSize) {
        GgufTokenizer g;
        if (tok instanceof Llama2cTokenizer l) {
            g = fromLlama2c(l);
        } else if (tok instanceof HfTokenizer h) {
            g = fromTokenizerJson(h.path());
            g.bos = h.bosId();
            g.addBos = h.addsBos();
        } else {
            throw new IllegalArgumentException("cannot export tokenizer " + tok.describe() + " to GGUF");
        }
        int[] eosIds = tok.eosIds();
        if (g.eos < 0 && eosIds.length > 0) g.eos = eosIds[0];
        if (g.tokens.size() > vocabSize) {
            throw new IllegalArgumentException(tok.describe() + ": " + g.tokens.size()
                    + " tokens but the model's vocabulary is " + vocabSize);
        }
        // llama.cpp sizes the embedding by the token list, so unused rows of a padded vocabulary need names
        for (int i = g.tokens.size(); i < vocabSize; i++) g.add("[PAD" + i + "]", 0f, UNUSED);
        return g;
    }

    private void add(String token, float score, int type) {
        tokens.add(token);
        scores.add(score);
        types.add(type);
    }

    static GgufTokenizer fromLlama2c(Llama2cTokenizer t) {
        GgufTokenizer g = new GgufTokenizer("llama");
        for (int i = 0; i < t.vocabSize(); i++) {
            String piece;
            int type;
            if (i == Llama2cTokenizer.UNK) {
                piece = "<unk>";
                type = UNKNOWN;
            } else if (i == Llama2cTokenizer.BOS || i == Llama2cTokenizer.EOS) {
                // llama2.c's export writes them as "\n<s>\n" / "\n</s>\n" so that its decoder prints a newline
                piece = i == Llama2cTokenizer.BOS ? "<s>" : "</s>";
                type = CONTROL;
            } else {
                piece = t.piece(i);
                type = i < Llama2cTokenizer.BYTE_OFFSET + 256 ? BYTE : NORMAL;
                // llama2.c's export turned SentencePiece's word-boundary mark into a space; llama.cpp wants the mark
                if (type == NORMAL) piece = piece.replace(' ', '\u2581');
            }
            g.add(piece, t.score(i), type);
        }
        g.bos = Llama2cTokenizer.BOS;
        g.eos = Llama2cTokenizer.EOS;
        g.unk = Llama2cTokenizer.UNK;
        g.addBos = true;
        g.addEos = false;
        g.addSpacePrefix = true;
        return g;
    }

    static GgufTokenizer fromTokenizerJson(Path file) {
        JsonNode root = readJson(file);
        JsonNode m = root.path("model");
        String type = m.path("type").asText("");
        Map<Integer, JsonNode> added = new HashMap<>();
        for (JsonNode a : root.path("added_tokens")) added.put(a.path("id").asInt(), a);
        GgufTokenizer g;
        String[] byId;
        float[] score;
        boolean byteLevel = mentions(root.path("pre_tokenizer"), "ByteLevel") || mentions(root.path("decoder"), "ByteLevel");
        if (type.equals("BPE")) {
            Map<String, Integer> vocab = new HashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = m.path("vocab").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                vocab.put(e.getKey(), e.getValue().asInt());
            }
            byId = denseVocab(file, vocab, added);
            List<String> mergeList = mergeStrings(m.path("merges"));
            score = new float[byId.length];
            if (byteLevel) {
                g = new GgufTokenizer("gpt2");
                g.merges.addAll(mergeList);
                g.pre = preTokenizerName(root.path("pre_tokenizer"));
            } else if (m.path("byte_fallback").asBoolean(false)) {
                g = new GgufTokenizer("llama");
                // llama.cpp's SentencePiece tokenizer merges the adjacent pair whose result scores highest; a
                // token's score is minus the rank of the first merge that makes it, so it merges in BPE's order
                Arrays.fill(score, Float.NaN);
                for (int r = 0; r < mergeList.size(); r++) {
                    Integer id = vocab.get(mergeList.get(r).replace(" ", ""));
                    if (id != null && Float.isNaN(score[id])) score[id] = -r;
                }
                for (int i = 0; i < score.length; i++) {
                    if (Float.isNaN(score[i])) score[i] = -(mergeList.size() + i);
                }
            } else {
                throw new ModelFormatException(file, "BPE tokenizer without byte_fallback and without a ByteLevel "
                        + "pre-tokenizer; GGUF export supports SentencePiece-style (byte_fallback) and byte-level BPE");
            }
        } else if (type.equals("Unigram")) {
            JsonNode v = m.path("vocab");
            Map<String, Integer> vocab = new HashMap<>();
            score = new float[v.size()];
            for (int i = 0; i < v.size(); i++) {
                vocab.putIfAbsent(v.get(i).path(0).asText(), i);
                score[i] = (float) v.get(i).path(1).asDouble();
            }
            byId = denseVocab(file, vocab, added);
            if (byId.length > score.length) score = Arrays.copyOf(score, byId.length);
            g = new GgufTokenizer("llama");
        } else {
            throw new ModelFormatException(file, "tokenizer model type '" + type
                    + "' cannot be exported to GGUF; expected BPE or Unigram");
        }
        String unkToken = m.path("unk_token").asText(null);
        for (int i = 0; i < byId.length; i++) {
            String t = byId[i];
            JsonNode a = added.get(i);
            int tt;
            if (t.equals(unkToken) || (m.has("unk_id") && m.path("unk_id").asInt(-1) == i)) tt = UNKNOWN;
            else if (a != null) tt = a.path("special").asBoolean(false) ? CONTROL : USER_DEFINED;
            else if (g.model.equals("llama") && BYTE_TOKEN.matcher(t).matches()) tt = BYTE;
            else tt = NORMAL;
            if (tt == UNKNOWN) g.unk = i;
            g.add(t, g.model.equals("gpt2") ? 0f : score[i], tt);
        }
        if (g.model.equals("llama")) g.addSpacePrefix = prependsSpace(root);
        readTokenizerConfig(file.resolveSibling("tokenizer_config.json"), g, byId);
        return g;
    }

    /** Tokens by id; every id from 0 to the largest must name a token. */
    private static String[] denseVocab(Path file, Map<String, Integer> vocab, Map<Integer, JsonNode> added) {
        int max = -1;
        for (int id : vocab.values()) max = Math.max(max, id);
        for (int id : added.keySet()) max = Math.max(max, id);
        String[] byId = new String[max + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) byId[e.getValue()] = e.getKey();
        for (Map.Entry<Integer, JsonNode> e : added.entrySet()) byId[e.getKey()] = e.getValue().path("content").asText();
        for (int i = 0; i < byId.length; i++) {
            if (byId[i] == null) throw new ModelFormatException(file, "no token has id " + i + " (the vocabulary has a gap)");
        }
        return byId;
    }

    /** Merges as "left right", from either tokenizers format (strings, or [left, right] pairs). */
    private static List<String> mergeStrings(JsonNode merges) {
        List<String> out = new ArrayList<>(merges.size());
        for (JsonNode mg : merges) out.add(mg.isArray() ? mg.path(0).asText() + " " + mg.path(1).asText() : mg.asText());
        return out;
    }

    private static boolean mentions(JsonNode n, String type) {
        if (n == null || n.isMissingNode() || n.isNull()) return false;
        if (type.equals(n.path("type").asText())) return true;
        for (JsonNode c : n) {
            if (c.isContainerNode() && mentions(c, type)) return true;
        }
        return false;
    }

    /** Whether text gets SentencePiece's leading "▁" (a Prepend normalizer or a Metaspace that prepends). */
    private static boolean prependsSpace(JsonNode root) {
        if (containsPrepend(root.path("normalizer"))) return true;
        JsonNode pre = root.path("pre_tokenizer");
        return mentions(pre, "Metaspace") && !"never".equals(findField(pre, "prepend_scheme"));
    }

    private static boolean containsPrepend(JsonNode n) {
        if (n == null || n.isMissingNode() || n.isNull()) return false;
        if ("Prepend".equals(n.path("type").asText()) && "\u2581".equals(n.path("prepend").asText())) return true;
        for (JsonNode c : n) {
            if (c.isContainerNode() && containsPrepend(c)) return true;
        }
        return false;
    }

    private static String findField(JsonNode n, String field) {
        if (n.has(field)) return n.get(field).asText();
        for (JsonNode c : n) {
            if (c.isContainerNode()) {
                String f = findField(c, field);
                if (f != null) return f;
            }
        }
        return null;
    }

    /**
     * llama.cpp's name of a byte-level pre-tokenizer: Llama 3's split regex is "llama-bpe", Qwen2's
     * "qwen2", a plain
     * ByteLevel that splits with its own (GPT-2's) regex is "gpt-2", anything else llama.cpp's default.
     */
    private static String preTokenizerName(JsonNode pre) {
        String regex = findField(pre, "Regex");
        if (regex != null && regex.startsWith(LLAMA3_SPLIT)) return "llama-bpe";
        if (QWEN2_SPLIT.equals(regex)) return "qwen2";
        if (regex == null && "ByteLevel".equals(pre.path("type").asText()) && pre.path("use_regex").asBoolean(true)) {
            return "gpt-2";
        }
        return "default";
    }

    private static void readTokenizerConfig(Path cfgFile, GgufTokenizer g, String[] byId) {
        if (!Files.isRegularFile(cfgFile)) return;
        JsonNode cfg = readJson(cfgFile);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = byId.length - 1; i >= 0; i--) ids.put(byId[i], i);
        g.eos = idOf(cfg.get("eos_token"), ids, g.eos);
        g.pad = idOf(cfg.get("pad_token"), ids, g.pad);
        g.unk = idOf(cfg.get("unk_token"), ids, g.unk);
        if (cfg.path("add_eos_token").isBoolean()) g.addEos = cfg.get("add_eos_token").asBoolean();
        JsonNode t = cfg.get("chat_template");
        if (t != null && t.isTextual()) {
            g.chatTemplate = t.asText();
        } else if (t != null && t.isArray()) {
            // named templates: [{name, template}, ...]; llama.cpp's own key takes the default one
            for (JsonNode e : t) {
                if ("default".equals(e.path("name").asText())) g.chatTemplate = e.path("template").asText();
            }
        }
        Path jinja = cfgFile.resolveSibling("chat_template.jinja");
        if (g.chatTemplate == null && Files.isRegularFile(jinja)) {
            try {
                g.chatTemplate = Files.readString(jinja, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new ModelFormatException(jinja, "cannot read: " + e.getMessage(), e);
            }
        }
    }

    private static int idOf(JsonNode token, Map<String, Integer> ids, int fallback) {
        String text = token == null || token.isNull() ? null
                : token.isTextual() ? token.asText() : token.path("content").asText(null);
        if (text == null) return fallback;
        Integer id = ids.get(text);
        return id == null ? fallback : id;
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read as JSON: " + e.getMessage(), e);
        }
    }

    /** Writes tokenizer.ggml.* (and tokenizer.chat_template) into w. */
    public void writeTo(GgufWriter w) {
        w.putString("tokenizer.ggml.model", model);
        if (pre != null) w.putString("tokenizer.ggml.pre", pre);
        w.putStrings("tokenizer.ggml.tokens", tokens);
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) s[i] = scores.get(i);
        w.putF32s("tokenizer.ggml.scores", s);
        w.putI32s("tokenizer.ggml.token_type", types.stream().mapToInt(Integer::intValue).toArray());
        if (!merges.isEmpty()) w.putStrings("tokenizer.ggml.merges", merges);
        if (bos >= 0) w.putU32("tokenizer.ggml.bos_token_id", bos);
        if (eos >= 0) w.putU32("tokenizer.ggml.eos_token_id", eos);
        if (unk >= 0) w.putU32("tokenizer.ggml.unknown_token_id", unk);
        if (pad >= 0) w.putU32("tokenizer.ggml.padding_token_id", pad);
        if (addBos != null) w.putBool("tokenizer.ggml.add_bos_token", addBos);
        if (addEos != null) w.putBool("tokenizer.ggml.add_eos_token", addEos);
        if (addSpacePrefix != null) w.putBool("tokenizer.ggml.add_space_prefix", addSpacePrefix);
        if (chatTemplate != null) w.putString("tokenizer.chat_template", chatTemplate);
    }
}
