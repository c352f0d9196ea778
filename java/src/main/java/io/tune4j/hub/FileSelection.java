package io.tune4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which files of a repository tune4j needs. Repositories often carry the same weights several times
 * (pytorch_model.bin, flax, onnx, gguf); only the safetensors copy is fetched.
 */
public final class FileSelection {

    public static final String SAFETENSORS = "model.safetensors";
    public static final String SAFETENSORS_INDEX = "model.safetensors.index.json";

    /** Config and tokenizer files, fetched when the repository has them. */
    public static final List<String> SMALL_FILES = List.of(
            "config.json",
            "generation_config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "tokenizer.model");

    private static final ObjectMapper JSON = new ObjectMapper();

    private FileSelection() {}

    /**
     * The files to fetch first, in order; when the result contains {@link #SAFETENSORS_INDEX} the
     * shards it lists come on top ({@link #shardsOf}).
     */
    public static List<String> select(RepoId repo, List<String> siblings) {
        List<String> out = new ArrayList<>();
        for (String f : SMALL_FILES) {
            if (siblings.contains(f)) {
                out.add(f);
            }
        }
        // The index wins over a single file: a repo with both is mid-migration, and the index is what
        // transformers reads first.
        if (siblings.contains(SAFETENSORS_INDEX)) {
            out.add(SAFETENSORS_INDEX);
        } else if (siblings.contains(SAFETENSORS)) {
            out.add(SAFETENSORS);
        } else {
            List<String> weights = siblings.stream()
                    .filter(f -> f.endsWith(".bin") || f.endsWith(".pt") || f.endsWith(".pth") || f.endsWith(".h5")
                            || f.endsWith(".msgpack") || f.endsWith(".onnx") || f.endsWith(".gguf")
                            || f.endsWith(".safetensors"))
                    .toList();
            throw new HubException(HubException.Reason.OTHER, repo + " has no " + SAFETENSORS + " or " + SAFETENSORS_INDEX
                    + (weights.isEmpty() ? " and no other weights" : " (it has " + String.join(", ", weights) + ")")
                    + "; tune4j loads Hugging Face safetensors checkpoints only");
        }
        return out;
    }

    /** The shard file names of a safetensors index, sorted and checked. */
    public static List<String> shardsOf(RepoId repo, byte[] indexJson) {
        JsonNode map;
        try {
            map = JSON.readTree(indexJson).get("weight_map");
        } catch (IOException e) {
            throw new HubException(HubException.Reason.OTHER, SAFETENSORS_INDEX + " of " + repo + " is not valid JSON: " + e.getMessage(), e);
        }
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new HubException(HubException.Reason.OTHER, SAFETENSORS_INDEX + " of " + repo + " has no weight_map");
        }
        Set<String> shards = new TreeSet<>();
        for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
            JsonNode v = it.next();
            if (!v.isTextual()) {
                throw new HubException(HubException.Reason.OTHER, SAFETENSORS_INDEX + " of " + repo + " has a non-string shard name: " + v);
            }
            shards.add(checkFilename(repo, v.asText()));
        }
        return List.copyOf(shards);
    }

    /**
     * Refuses names that would land outside the snapshot directory: file names come from the server
     * (listing, index), and a hostile or broken one must not write anywhere else on disk.
     */
    static String checkFilename(RepoId repo, String name) {
        boolean bad = name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.contains("\0")
                || name.contains(":");
        if (!bad) {
            for (String seg : name.split("/", -1)) {
                if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                    bad = true;
                    break;
                }
            }
        }
        if (bad || Path.of(name).isAbsolute()) {
            throw new HubException(HubException.Reason.OTHER, repo + " lists an unsafe file name '" + name + "'; refusing to download it");
        }
        return name;
    }
}
