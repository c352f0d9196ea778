package io.tune4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.arch.ArchFeatures;
import io.tune4j.model.arch.Architecture;
import io.tune4j.model.arch.Architectures;
import io.tune4j.model.arch.ConfigFields;
import io.tune4j.ops.RopeScaling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Reads a Hugging Face config.json of a supported family ({@link Architectures}: Llama 2/3, TinyLlama,
 * SmolLM, Mistral, Qwen2/2.5, Qwen3, Gemma 2, Gemma 3 text, Phi-3) into a {@link LlamaConfig},
 * merging the end-of-sequence ids of generation_config.json when it sits beside it.
 */
public final class LlamaConfigReader {
    public static final String CONFIG = "config.json";
    public static final String GENERATION_CONFIG = "generation_config.json";

    private LlamaConfigReader() {}

    /** Reads {@code dir/config.json} (or the given config file) and merges generation_config.json's eos ids. */
    public static LlamaConfig read(Path dirOrConfigFile) {
        Path file = Files.isDirectory(dirOrConfigFile) ? dirOrConfigFile.resolve(CONFIG) : dirOrConfigFile;
        JsonNode root = readJson(file);
        LlamaConfig c = parse(file, root);
        Path gen = file.resolveSibling(GENERATION_CONFIG);
        if (Files.isRegularFile(gen)) {
            GenerationDefaults g = readGenerationDefaults(gen);
            int[] merged = mergeIds(c.eosTokenIds(), g.eosTokenIds());
            if (!Arrays.equals(merged, c.eosTokenIds())) c = withEos(c, merged);
        }
        return c;
    }

    /** Reads generation_config.json from a model directory (or the file itself); {@link GenerationDefaults#NONE} when absent. */
    public static GenerationDefaults readGenerationDefaults(Path dirOrFile) {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(GENERATION_CONFIG) : dirOrFile;
        if (!Files.exists(file)) return GenerationDefaults.NONE;
        JsonNode r = readJson(file);
        GenerationDefaults d = GenerationDefaults.NONE;
        return new GenerationDefaults(
                optBool(file, r, "do_sample", d.doSample()),
                optFloat(file, r, "temperature", d.temperature()),
                optFloat(file, r, "top_p", d.topP()),
                optInt(file, r, "top_k", d.topK()),
                optFloat(file, r, "repetition_penalty", d.repetitionPenalty()),
                optInt(file, r, "max_length", d.maxLength()),
                optInt(file, r, "max_new_tokens", d.maxNewTokens()),
                optInt(file, r, "bos_token_id", -1),
                ids(file, r, "eos_token_id", new int[0]),
                optInt(file, r, "pad_token_id", -1));
    }

    /** Parses an already-read config.json; {@code file} is used in error messages. */
    public static LlamaConfig parse(Path file, JsonNode r) {
        if (r == null || !r.isObject()) throw new ModelFormatException(file, "expected a JSON object");
        Architecture arch = architecture(file, r);
        arch.refuseUnsupported(new ConfigFields(file, r));
        int hidden = reqInt(file, r, "hidden_size");
        int heads = reqInt(file, r, "num_attention_heads");
        int vocab = reqInt(file, r, "vocab_size");
        int inter = reqInt(file, r, "intermediate_size");
        int layers = reqInt(file, r, "num_hidden_layers");
        if (heads <= 0) throw new ModelFormatException(file, "num_attention_heads must be positive, got " + heads);
        // absent and null differ: absent takes the family's default, null the head count
        boolean kvGiven = r.has("num_key_value_heads");
        int kvHeads = kvGiven ? optInt(file, r, "num_key_value_heads", heads) : arch.defaultKvHeads(heads);
        if (!kvGiven && heads % kvHeads != 0) {
            // the number in the error is not in the file: say where it came from
            throw new ModelFormatException(file, "num_key_value_heads is not given, and " + arch.modelType()
                    + "'s default of " + kvHeads + " (as transformers reads it) does not divide num_attention_heads "
                    + heads + "; set num_key_value_heads");
        }
        int headDim;
        if (present(r, "head_dim")) {
            headDim = reqInt(file, r, "head_dim");
        } else if (arch.defaultHeadDim() > 0) {
            headDim = arch.defaultHeadDim();
        } else {
            if (hidden % heads != 0) {
                throw new ModelFormatException(file, "hidden_size " + hidden + " is not divisible by num_attention_heads "
                        + heads + " and head_dim is not given");
            }
            headDim = hidden / heads;
        }
        int maxPos = optInt(file, r, "max_position_embeddings", 2048);
        float eps = optFloat(file, r, "rms_norm_eps", arch.defaultRmsNormEps());
        RopeScaling rope = rope(file, r, arch.defaultRopeTheta());
        boolean tie = optBool(file, r, "tie_word_embeddings", arch.defaultTiedEmbeddings());
        int bos = optInt(file, r, "bos_token_id", 1);
        int[] eos = ids(file, r, "eos_token_id", new int[] {2});
        ConfigFields fields = new ConfigFields(file, r);
        String act = arch.readActivation(fields);
        boolean attnBias = optBool(file, r, "attention_bias", false);
        boolean mlpBias = optBool(file, r, "mlp_bias", false);
        if (layers <= 0) throw new ModelFormatException(file, "num_hidden_layers must be positive, got " + layers);
        ArchFeatures features = arch.readFeatures(fields, layers);
        try {
            return new LlamaConfig(vocab, hidden, inter, layers, heads, kvHeads, headDim, maxPos, eps, rope, tie, bos,
                    eos, act, attnBias, mlpBias, features);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage(), e);
        }
    }

    /** The family named by model_type, else by architectures[]; Llama when neither is given. */
    private static Architecture architecture(Path file, JsonNode r) {
        JsonNode type = r.get("model_type");
        JsonNode classes = r.get("architectures");
        Architecture byType = null;
        if (type != null && !type.isNull()) {
            byType = Architectures.byModelType(type.asText()).orElseThrow(() -> new ModelFormatException(file,
                    "model_type '" + type.asText() + "' is not supported; tune4j loads " + Architectures.supported()));
        }
        if (classes != null && classes.isArray() && classes.size() > 0) {
            for (JsonNode a : classes) {
                var byClass = Architectures.byClass(a.asText());
                if (byClass.isPresent() && (byType == null || byType == byClass.get())) return byClass.get();
            }
            String expected = byType != null ? byType.hfClass() : "one of " + Architectures.all().stream()
                    .map(Architecture::hfClass).toList();
            throw new ModelFormatException(file, "architectures " + classes + " are not supported (expected "
                    + expected + "); tune4j loads " + Architectures.supported());
        }
        return byType != null ? byType : Architectures.byModelType("llama").orElseThrow();
    }

    private static RopeScaling rope(Path file, JsonNode r, float defaultTheta) {
        JsonNode params = r.get("rope_parameters"); // newer transformers fold theta and scaling into one object
        // ... one per layer type where those differ (Gemma 3): the model's RoPE is the full-attention one
        if (params != null && params.isObject() && params.path("full_attention").isObject()) params = params.get("full_attention");
        JsonNode scaling = r.get("rope_scaling");
        if ((scaling == null || scaling.isNull()) && params != null && params.isObject()) scaling = params;
        float theta = present(r, "rope_theta") ? optFloat(file, r, "rope_theta", defaultTheta)
                : params != null && params.isObject() && present(params, "rope_theta")
                        ? optFloat(file, params, "rope_theta", defaultTheta) : defaultTheta;
        if (theta <= 0) throw new ModelFormatException(file, "rope_theta must be positive, got " + theta);
        if (scaling == null || scaling.isNull()) return RopeScaling.none(theta);
        if (!scaling.isObject()) throw new ModelFormatException(file, "rope_scaling must be an object or null");
        String type = present(scaling, "rope_type") ? scaling.get("rope_type").asText()
                : present(scaling, "type") ? scaling.get("type").asText() : "default";
        RopeScaling none = RopeScaling.none(theta);
        switch (type) {
            case "default":
                return none;
            case "linear": {
                float factor = reqFloat(file, scaling, "rope_scaling.factor", "factor");
                return new RopeScaling(theta, RopeScaling.Type.LINEAR, factor, none.lowFreqFactor(),
                        none.highFreqFactor(), none.originalMaxPositions());
            }
            case "llama3": {
                float factor = reqFloat(file, scaling, "rope_scaling.factor", "factor");
                float low = optFloat(file, scaling, "low_freq_factor", 1f);
                float high = optFloat(file, scaling, "high_freq_factor", 4f);
                int orig = optInt(file, scaling, "original_max_position_embeddings", 8192);
                if (high <= low) {
                    throw new ModelFormatException(file, "rope_scaling: high_freq_factor (" + high
                            + ") must exceed low_freq_factor (" + low + ")");
                }
                return new RopeScaling(theta, RopeScaling.Type.LLAMA3, factor, low, high, orig);
            }
            default:
                throw new ModelFormatException(file, "rope_scaling type '" + type
                        + "' is not supported (expected llama3, linear or default)");
        }
    }

    static LlamaConfig withEos(LlamaConfig c, int[] eos) {
        return new LlamaConfig(c.vocabSize(), c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(),
                c.numKvHeads(), c.headDim(), c.maxPositions(), c.rmsNormEps(), c.rope(), c.tieWordEmbeddings(),
                c.bosTokenId(), eos, c.hiddenAct(), c.attentionBias(), c.mlpBias(), c.features());
    }

    static int[] mergeIds(int[] a, int[] b) {
        Set<Integer> s = new LinkedHashSet<>();
        for (int x : a) s.add(x);
        for (int x : b) s.add(x);
        return s.stream().mapToInt(Integer::intValue).toArray();
    }

    static JsonNode readJson(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            JsonNode n = SafetensorsFile.JSON.readTree(bytes);
            if (n == null || !n.isObject()) throw new ModelFormatException(file, "expected a JSON object");
            return n;
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "file not found");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ModelFormatException(file, "not valid JSON: " + SafetensorsFile.firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e, e);
        }
    }

    // ---- field helpers ----

    private static boolean present(JsonNode r, String f) {
        JsonNode n = r.get(f);
        return n != null && !n.isNull();
    }

    private static int reqInt(Path file, JsonNode r, String f) {
        if (!present(r, f)) throw new ModelFormatException(file, "missing field '" + f + "'");
        return asInt(file, r.get(f), f);
    }

    private static int optInt(Path file, JsonNode r, String f, int def) {
        return present(r, f) ? asInt(file, r.get(f), f) : def;
    }

    private static int asInt(Path file, JsonNode n, String f) {
        if (!n.isNumber() || !n.canConvertToExactIntegral() || !n.canConvertToInt()) {
            throw new ModelFormatException(file, "field '" + f + "' must be an integer, got " + n);
        }
        return n.asInt();
    }

    private static float reqFloat(Path file, JsonNode r, String label, String f) {
        if (!present(r, f)) throw new ModelFormatException(file, "missing field '" + label + "'");
        return optFloat(file, r, f, 0f);
    }

    private static float optFloat(Path file, JsonNode r, String f, float def) {
        if (!present(r, f)) return def;
        JsonNode n = r.get(f);
        if (!n.isNumber()) throw new ModelFormatException(file, "field '" + f + "' must be a number, got " + n);
        return (float) n.asDouble();
    }

    private static boolean optBool(Path file, JsonNode r, String f, boolean def) {
        if (!present(r, f)) return def;
        JsonNode n = r.get(f);
        if (!n.isBoolean()) throw new ModelFormatException(file, "field '" + f + "' must be true or false, got " + n);
        return n.asBoolean();
    }

    private static String reqText(Path file, JsonNode r, String f) {
        JsonNode n = r.get(f);
        if (n == null || !n.isTextual()) throw new ModelFormatException(file, "field '" + f + "' must be a string, got " + n);
        return n.asText();
    }

    /** An id field that is an integer, a list of integers, or null/absent. */
    private static int[] ids(Path file, JsonNode r, String f, int[] def) {
        if (!present(r, f)) return def;
        JsonNode n = r.get(f);
        if (n.isArray()) {
            int[] out = new int[n.size()];
            for (int i = 0; i < out.length; i++) out[i] = asInt(file, n.get(i), f);
            return out;
        }
        return new int[] {asInt(file, n, f)};
    }
}
