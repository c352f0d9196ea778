package io.tune4j.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tune4j.model.io.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * A Hugging Face tokenizer.json run by the HF Rust tokenizers (through DJL), strictly offline and
 * with the CPU build of the native library bundled in the DJL jar. Special tokens are never added
 * by the Rust side; BOS is prepended here according to tokenizer_config.json (add_bos_token,
 * bos_token) when it sits beside tokenizer.json.
 */
public final class HfTokenizer implements Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final HuggingFaceTokenizer tokenizer;
    private final int vocabSize;
    private final int bosId;
    private final boolean addBosToken;
    private final int[] eosIds;
    private final String modelType;

    private HfTokenizer(Path path, HuggingFaceTokenizer tokenizer, int vocabSize, int bosId, boolean addBosToken,
                        int[] eosIds, String modelType) {
        this.path = path;
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.addBosToken = addBosToken;
        this.eosIds = eosIds;
        this.modelType = modelType;
    }

    /**
     * Keeps DJL offline and on the bundled CPU library: ai.djl.offline=true, and RUST_FLAVOR=cpu
     * (DJL's LibUtils otherwise picks a CUDA flavour when it sees a GPU and downloads that build;
     * an explicit RUST_FLAVOR environment variable still wins, as DJL reads the environment first).
     */
    static synchronized void configureDjl() {
        System.setProperty("ai.djl.offline", "true");
        if (System.getProperty("RUST_FLAVOR") == null) System.setProperty("RUST_FLAVOR", "cpu");
        if (System.getProperty("org.slf4j.simpleLogger.log.ai.djl") == null) {
            System.setProperty("org.slf4j.simpleLogger.log.ai.djl", "warn");
        }
    }

    public static HfTokenizer load(Path tokenizerJson) {
        return load(tokenizerJson, new int[0]);
    }

    /**
     * Loads tokenizer.json (and tokenizer_config.json from the same directory when present);
     * extraEosIds (e.g. from config.json / generation_config.json) are added to the eos_token.
     */
    public static HfTokenizer load(Path tokenizerJson, int[] extraEosIds) {
        JsonNode root = readJson(tokenizerJson);
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) {
            throw new ModelFormatException(tokenizerJson, "missing field 'model'; not a Hugging Face tokenizer.json");
        }
        Map<String, Integer> tokenIds = new HashMap<>();
        int maxId = -1;
        JsonNode vocab = model.get("vocab");
        if (vocab != null && vocab.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                tokenIds.put(e.getKey(), e.getValue().asInt());
                maxId = Math.max(maxId, e.getValue().asInt());
            }
        } else if (vocab != null && vocab.isArray()) { // Unigram: [[piece, score], ...]
            for (int i = 0; i < vocab.size(); i++) tokenIds.putIfAbsent(vocab.get(i).path(0).asText(), i);
            maxId = vocab.size() - 1;
        }
        JsonNode added = root.get("added_tokens");
        if (added != null && added.isArray()) {
            for (JsonNode t : added) {
                tokenIds.put(t.path("content").asText(), t.path("id").asInt());
                maxId = Math.max(maxId, t.path("id").asInt());
            }
        }
        int vocabSize = maxId + 1;

        Path configFile = tokenizerJson.resolveSibling("tokenizer_config.json");
        JsonNode config = Files.isRegularFile(configFile) ? readJson(configFile) : null;
        String bosToken = config == null ? null : tokenText(config.get("bos_token"));
        String eosToken = config == null ? null : tokenText(config.get("eos_token"));
        if (bosToken == null) bosToken = templateBos(root);
        int bos = -1;
        if (bosToken != null) {
            Integer id = tokenIds.get(bosToken);
            if (id == null) {
                throw new ModelFormatException(config != null ? configFile : tokenizerJson, "bos_token '" + bosToken
                        + "' is not in the vocabulary of " + tokenizerJson);
            }
            bos = id;
        }
        boolean addBos = bos >= 0;
        if (config != null && config.has("add_bos_token") && config.get("add_bos_token").isBoolean()) {
            addBos = bos >= 0 && config.get("add_bos_token").asBoolean();
        } else if (config != null && !config.has("add_bos_token") && templateBos(root) == null) {
            addBos = false; // neither the config nor the post-processor adds BOS (e.g. GPT-2 style)
        }
        int[] eos = new int[0];
        if (eosToken != null) {
            Integer id = tokenIds.get(eosToken);
            if (id == null) {
                throw new ModelFormatException(configFile, "eos_token '" + eosToken + "' is not in the vocabulary of "
                        + tokenizerJson);
            }
            eos = new int[] {id};
        } else if (tokenIds.containsKey("</s>")) {
            eos = new int[] {tokenIds.get("</s>")};
        }
        eos = Llama2cTokenizer.mergeIds(eos, extraEosIds);

        configureDjl();
        HuggingFaceTokenizer tok;
        try {
            tok = HuggingFaceTokenizer.newInstance(tokenizerJson, Map.of(
                    "addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(tokenizerJson, "the Hugging Face tokenizers library rejected it: " + e.getMessage(), e);
        }
        return new HfTokenizer(tokenizerJson, tok, vocabSize, bos, addBos, eos, model.path("type").asText("?"));
    }

    /** bos_token in tokenizer_config.json is a string or an AddedToken object {content: ...}. */
    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.has("content")) return n.get("content").asText();
        return null;
    }

    /** The special token a TemplateProcessing post-processor puts first in a single sequence, if any. */
    private static String templateBos(JsonNode root) {
        JsonNode pp = root.get("post_processor");
        if (pp == null || pp.isNull()) return null;
        JsonNode single = pp.get("single");
        if ("Sequence".equals(pp.path("type").asText())) {
            for (JsonNode p : pp.path("processors")) {
                if (p.has("single")) single = p.get("single");
            }
        }
        if (single == null || !single.isArray() || single.isEmpty()) return null;
        JsonNode first = single.get(0).get("SpecialToken");
        return first == null ? null : first.path("id").asText(null);
    }

    private static JsonNode readJson(Path file) {
        try {
            JsonNode n = JSON.readTree(Files.readAllBytes(file));
            if (n == null || !n.isObject()) throw new ModelFormatException(file, "expected a JSON object");
            return n;
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "file not found");
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file, "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e, e);
        }
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        Encoding enc = tokenizer.encode(text, false, false);
        long[] ids = enc.getIds();
        boolean bos = addBos && addBosToken;
        int off = bos ? 1 : 0;
        int[] out = new int[ids.length + off];
        if (bos) out[0] = bosId;
        for (int i = 0; i < ids.length; i++) out[i + off] = Math.toIntExact(ids[i]);
        return out;
    }

    @Override
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException(path + ": token id " + ids[i] + " outside the vocabulary [0, "
                        + vocabSize + ")");
            }
            l[i] = ids[i];
        }
        return tokenizer.decode(l, true);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int bosId() {
        return bosId;
    }

    /** The tokenizer.json this tokenizer was loaded from. */
    public Path path() {
        return path;
    }

    /** Whether encode(text, true) prepends BOS (tokenizer_config.json's add_bos_token). */
    public boolean addsBos() {
        return addBosToken;
    }

    @Override
    public int[] eosIds() {
        return eosIds.clone();
    }

    @Override
    public String describe() {
        return path.getFileName() + " (" + modelType + ", " + vocabSize + " tokens)";
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "HfTokenizer[" + path + ", eos=" + Arrays.toString(eosIds) + "]";
    }
}
