package io.tune4j.model.io;

import com.fasterxml.jackson.databind.JsonNode;
import io.tune4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors files of one checkpoint: a single model.safetensors, or the shards listed in
 * model.safetensors.index.json (weight_map), each opened and mapped once.
 */
public final class SafetensorsShards implements AutoCloseable {
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    private final Path source;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;

    private SafetensorsShards(Path source, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.source = source;
        this.files = Collections.unmodifiableList(files);
        this.byName = Collections.unmodifiableMap(byName);
    }

    /**
     * Opens a model directory (index preferred, then model.safetensors), an index file, or a
     * single .safetensors file.
     */
    public static SafetensorsShards open(Path path) {
        if (Files.isDirectory(path)) {
            Path index = path.resolve(INDEX);
            if (Files.isRegularFile(index)) return openIndex(index);
            Path single = path.resolve(SINGLE);
            if (Files.isRegularFile(single)) return openSingle(single);
            throw new ModelFormatException(path, "no " + SINGLE + " or " + INDEX
                    + " in this directory (PyTorch .bin checkpoints are not supported; convert them to safetensors)");
        }
        if (!Files.exists(path)) throw new ModelFormatException(path, "file not found");
        if (path.getFileName().toString().endsWith(".index.json")) return openIndex(path);
        return openSingle(path);
    }

    private static SafetensorsShards openSingle(Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> m = new LinkedHashMap<>();
        for (String n : f.names()) m.put(n, f);
        return new SafetensorsShards(file, new ArrayList<>(List.of(f)), m);
    }

    private static SafetensorsShards openIndex(Path index) {
        JsonNode root = LlamaConfigReader.readJson(index);
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new ModelFormatException(index, "missing field 'weight_map' (expected an object of tensor name -> shard file)");
        }
        Path dir = index.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isTextual()) {
                    throw new ModelFormatException(index, "weight_map entry '" + e.getKey() + "' must name a shard file");
                }
                String shardName = e.getValue().asText();
                SafetensorsFile f = shards.get(shardName);
                if (f == null) {
                    Path shard = dir.resolve(shardName).normalize();
                    if (!shard.startsWith(dir)) {
                        throw new ModelFormatException(index, "shard '" + shardName + "' lies outside the model directory");
                    }
                    if (!Files.isRegularFile(shard)) {
                        throw new ModelFormatException(index, "shard '" + shardName + "' (for tensor '" + e.getKey()
                                + "') does not exist");
                    }
                    f = SafetensorsFile.open(shard);
                    shards.put(shardName, f);
                    files.add(f);
                }
                if (!f.contains(e.getKey())) {
                    throw new ModelFormatException(index, "weight_map puts tensor '" + e.getKey() + "' in " + shardName
                            + ", but that shard has no such tensor");
                }
                byName.put(e.getKey(), f);
            }
        } catch (RuntimeException e) {
            for (SafetensorsFile f : files) f.close();
            throw e;
        }
        return new SafetensorsShards(index, files, byName);
    }

    /** The index file, or the single safetensors file. */
    public Path source() {
        return source;
    }

    public List<SafetensorsFile> files() {
        return files;
    }

    public Set<String> names() {
        return byName.keySet();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The file holding a tensor, or null. */
    public SafetensorsFile fileOf(String name) {
        return byName.get(name);
    }

    public SafetensorsFile.TensorInfo info(String name) {
        SafetensorsFile f = byName.get(name);
        return f == null ? null : f.info(name);
    }

    /** The tensor as F32 (see {@link SafetensorsFile#tensor}); owned by these shards. */
    public Tensor tensor(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) throw new ModelFormatException(source, "no tensor named '" + name + "'");
        return f.tensor(name);
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
