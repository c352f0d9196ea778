package io.tune4j.peft;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tune4j.model.LlamaConfig;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.arch.Architecture;
import io.tune4j.model.arch.Architectures;
import io.tune4j.model.io.SafetensorsWriter;
import io.tune4j.ops.RopeScaling;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a complete Hugging Face model directory (config.json, model.safetensors in F32, tokenizer
 * and generation config copied from the source) from a model's base weights, some of them replaced.
 */
public final class ModelDirWriter {
    /** Files copied from a Hugging Face source directory when present. */
    static final List<String> COPIED = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "tokenizer.model", "generation_config.json", "tokenizer.bin");

    private ModelDirWriter() {}

    /**
     * @param source   the model's directory or llama2.c file (config and tokenizer come from there);
     *                 null writes a config.json from the model's configuration and no tokenizer
     * @param replaced weights (by Hugging Face name) to write instead of the model's own
     */
    public static void write(Path outDir, LlamaModel model, Map<String, Tensor> replaced, Path source) {
        try {
            Files.createDirectories(outDir);
        } catch (IOException e) {
            throw new UncheckedIOException(outDir + ": cannot create directory: " + e.getMessage(), e);
        }
        SafetensorsWriter w = new SafetensorsWriter().stagingFrom(model.ops()).metadata("format", "pt");
        for (Parameter p : model.parameters()) {
            if (!isBaseWeight(p.name())) continue;
            w.add(p.name(), replaced.getOrDefault(p.name(), p.value()), DType.F32);
        }
        w.write(outDir.resolve("model.safetensors"));
        Path srcDir = source == null ? null : Files.isDirectory(source) ? source : source.toAbsolutePath().getParent();
        if (source != null && Files.isDirectory(source) && Files.isRegularFile(source.resolve("config.json"))) {
            PeftFiles.copyAtomically(source.resolve("config.json"), outDir.resolve("config.json"));
        } else {
            PeftFiles.writeJson(outDir.resolve("config.json"), configJson(model.config()));
        }
        if (srcDir == null || srcDir.toAbsolutePath().normalize().equals(outDir.toAbsolutePath().normalize())) return;
        for (String f : COPIED) {
            Path p = srcDir.resolve(f);
            if (Files.isRegularFile(p)) PeftFiles.copyAtomically(p, outDir.resolve(f));
        }
        // a llama2.c checkpoint's tokenizer (tok512.bin) sits beside it
        if (!Files.isDirectory(source) && !Files.isRegularFile(srcDir.resolve("tokenizer.json"))) {
            try (Stream<Path> s = Files.list(srcDir)) {
                for (Path p : s.filter(ModelDirWriter::isLlama2cTokenizer).toList()) {
                    PeftFiles.copyAtomically(p, outDir.resolve(p.getFileName()));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(srcDir + ": cannot list directory: " + e.getMessage(), e);
            }
        }
    }

    private static boolean isLlama2cTokenizer(Path p) {
        String n = p.getFileName().toString();
        return n.startsWith("tok") && n.endsWith(".bin") && !n.equals("tokenizer.bin") && Files.isRegularFile(p);
    }

    /** Weights of the checkpoint itself, as opposed to those a fine-tuning method added. */
    static boolean isBaseWeight(String name) {
        return name.startsWith("model.") || name.startsWith("lm_head.");
    }

    static ObjectNode configJson(LlamaConfig c) {
        ObjectNode o = PeftFiles.object();
        Architecture arch = Architectures.of(c.features());
        o.putArray("architectures").add(arch.hfClass());
        o.put("model_type", arch.modelType());
        o.put("vocab_size", c.vocabSize());
        o.put("hidden_size", c.hiddenSize());
        o.put("intermediate_size", c.intermediateSize());
        o.put("num_hidden_layers", c.numLayers());
        o.put("num_attention_heads", c.numHeads());
        o.put("num_key_value_heads", c.numKvHeads());
        o.put("head_dim", c.headDim());
        o.put("max_position_embeddings", c.maxPositions());
        o.put("rms_norm_eps", c.rmsNormEps());
        RopeScaling r = c.rope();
        o.put("rope_theta", r.theta());
        if (r.type() == RopeScaling.Type.NONE) {
            o.putNull("rope_scaling");
        } else {
            ObjectNode s = o.putObject("rope_scaling");
            s.put("rope_type", r.type() == RopeScaling.Type.LLAMA3 ? "llama3" : "linear");
            s.put("factor", r.factor());
            if (r.type() == RopeScaling.Type.LLAMA3) {
                s.put("low_freq_factor", r.lowFreqFactor());
                s.put("high_freq_factor", r.highFreqFactor());
                s.put("original_max_position_embeddings", r.originalMaxPositions());
            }
        }
        o.put("hidden_act", c.hiddenAct());
        o.put("tie_word_embeddings", c.tieWordEmbeddings());
        o.put("bos_token_id", c.bosTokenId());
        int[] eos = c.eosTokenIds();
        if (eos.length == 1) {
            o.put("eos_token_id", eos[0]);
        } else {
            ArrayNode a = o.putArray("eos_token_id");
            for (int e : eos) a.add(e);
        }
        o.put("attention_bias", c.attentionBias());
        o.put("mlp_bias", c.mlpBias());
        arch.writeFeatures(o, c);
        o.put("torch_dtype", "float32");
        return o;
    }
}
