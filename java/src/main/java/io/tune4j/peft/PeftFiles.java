package io.tune4j.peft;

import io.tune4j.io.AtomicFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.arch.ModuleTable;
import io.tune4j.model.io.ModelFormatException;
import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.ops.Ops;
import io.tune4j.tensor.Tensor;
import java.util.Arrays;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/** File names, key names and atomic JSON I/O shared by the adapter formats (PEFT's layout). */
public final class PeftFiles {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    /** PEFT's prefix for the wrapped model's weights: PeftModel.base_model (LoraModel).model (LlamaForCausalLM). */
    public static final String KEY_PREFIX = "base_model.model.";
    /** The separate projections of the Llama-like families, the target_modules that select all of them. */
    public static final List<String> MODULES =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    /**
     * Every projection name of any family, in checkpoint order (q_proj, k_proj, v_proj, qkv_proj, o_proj,
     * gate_proj, up_proj, gate_up_proj, down_proj); a model has the subset {@link #modules} gives.
     */
    public static final List<String> ALL_MODULES =
            java.util.Arrays.stream(ModuleTable.Proj.values()).map(p -> p.module).toList();

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PeftFiles() {}

    /** The projections of this model's layers (PEFT's target_modules names), in checkpoint order. */
    public static List<String> modules(LlamaConfig c) {
        return ModuleTable.projectionNames(c);
    }

    /** "model.layers.{i}.self_attn.q_proj" or "model.layers.{i}.mlp.gate_up_proj", as in the HF model classes. */
    public static String modulePath(int layer, String module) {
        if (!ALL_MODULES.contains(module)) {
            throw new IllegalArgumentException("unknown module '" + module + "' (expected one of " + ALL_MODULES + ")");
        }
        return ModuleTable.layer(layer, ModuleTable.Proj.of(module).path());
    }

    public static ObjectNode object() {
        return JSON.createObjectNode();
    }

    /** Writes JSON to a temp file beside {@code file}, fsyncs it and renames it into place. */
    public static void writeJson(Path file, JsonNode node) {
        try {
            writeAtomically(file, JSON.writeValueAsBytes(node));
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    /** Copies tensor key of f (any stored float type) into a tensor of the same shape; errors name the file and key. */
    public static void copy(Ops ops, SafetensorsFile f, String key, Tensor into) {
        if (!f.contains(key)) throw new ModelFormatException(f.path(), "tensor '" + key + "' is missing");
        Tensor src = f.tensor(key);
        if (!Arrays.equals(src.shape(), into.shape())) {
            throw new ModelFormatException(f.path(), "tensor '" + key + "' has shape " + Arrays.toString(src.shape())
                    + ", expected " + Arrays.toString(into.shape()));
        }
        ops.copy(into, src);
    }

    static void writeAtomically(Path file, byte[] bytes) {
        AtomicFiles.write(file, bytes);
    }

    static void copyAtomically(Path src, Path dst) {
        AtomicFiles.copy(src, dst);
    }

    /** Reads dir/adapter_config.json; errors name the file. */
    public static JsonNode readConfig(Path dir) {
        Path file = dir.resolve(CONFIG);
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(dir, "no " + CONFIG + " (expected an adapter directory written by tune4j or PEFT)");
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) throw new ModelFormatException(file, "expected a JSON object");
            return n;
        } catch (IOException e) {
            throw new ModelFormatException(file, "invalid JSON: " + e.getMessage(), e);
        }
    }

    public static String reqText(Path file, JsonNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || !v.isTextual()) throw new ModelFormatException(file, "field '" + field + "' must be a string");
        return v.asText();
    }

    public static int reqInt(Path file, JsonNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new ModelFormatException(file, "field '" + field + "' must be an integer");
        }
        return v.asInt();
    }

    public static double optNumber(Path file, JsonNode r, String field, double dflt) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw new ModelFormatException(file, "field '" + field + "' must be a number");
        return v.asDouble();
    }

    public static boolean optBool(Path file, JsonNode r, String field, boolean dflt) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw new ModelFormatException(file, "field '" + field + "' must be true or false");
        return v.asBoolean();
    }
}
